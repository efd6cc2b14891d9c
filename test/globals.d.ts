// Types for the tests' dynamic corners (checked with tsconfig.test.json).
import type { AddressInfo } from 'node:net';

declare global {
  // Globals of the Node-RED editor page, read by the browser tests inside page.evaluate()
  // (and by the editor scripts they evaluate). The editor's own API is untyped.
  interface Window {
    RED: any;
    $: any;
    jQuery: any;
    ConcurEditor: any;
    [name: `__concur${string}`]: any;
  }
  var RED: any;
  var $: any;
}

declare module 'node:net' {
  interface Server {
    // Test servers always listen on TCP loopback, and resolve a promise when listening.
    address(): AddressInfo;
    listen(port: number, host: string, listener: (value?: unknown) => void): this;
    close(callback: (value?: unknown) => void): this;
  }
}
