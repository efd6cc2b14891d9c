/**
 * The reverse proxies whose client-certificate header is believed (ESS "header"
 * mode). A header is only as good as the hop that set it: anyone who reaches
 * Node-RED directly can send any header, so the TCP peer of the request must be
 * one of these addresses, or the header is not looked at (403, which ESS retries).
 *
 * Entries: IPv4 / IPv6 addresses or CIDR ranges (`10.0.0.0/8`, `fd00::/8`), and
 * `loopback` for 127.0.0.0/8 and ::1. Matching uses Node's `net.BlockList`, which
 * also matches IPv4-mapped IPv6 peers (`::ffff:10.1.2.3`) against IPv4 rules.
 */
import { BlockList, isIP } from 'node:net';
import { parseList } from './client-cert';

export interface TrustedProxies {
  /** The entries as configured (for messages). */
  readonly entries: readonly string[];
  /** True when the TCP peer address is one of the trusted proxies. */
  has(address: string | undefined): boolean;
}

/** Parses the configured list; throws with a message naming the first bad entry. */
export function parseTrustedProxies(text: string | undefined): TrustedProxies {
  const entries = parseList(text);
  const list = new BlockList();
  for (const entry of entries) {
    if (entry.toLowerCase() === 'loopback') {
      list.addSubnet('127.0.0.0', 8, 'ipv4');
      list.addAddress('::1', 'ipv6');
      continue;
    }
    const [addr, bits, extra] = entry.split('/');
    const family = isIP(addr);
    if (!family || extra !== undefined) throw new Error(`trusted proxies: "${entry}" is not an IP address or CIDR range`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) {
      list.addAddress(addr, type);
      continue;
    }
    const prefix = /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
    if (!(prefix >= 0 && prefix <= (family === 4 ? 32 : 128))) throw new Error(`trusted proxies: "${entry}" has an invalid prefix length`);
    list.addSubnet(addr, prefix, type);
  }
  return {
    entries,
    has(address) {
      if (!address) return false;
      // Strip an IPv6 zone id ("fe80::1%eth0"): BlockList does not accept it.
      const a = address.replace(/%.*$/, '');
      const family = isIP(a);
      if (!family) return false;
      return list.check(a, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}
