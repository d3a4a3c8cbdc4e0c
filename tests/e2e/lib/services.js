'use strict';
// The processes the suite needs: a private redis-server on a unix socket in
// its own temporary folder, and the webserver on an ephemeral port serving
// the repository's html/. Both are started here and stopped here, by pid.
// Every wait is on a condition (the port file appears, Redis answers PING, a
// process exits), bounded only so that a hang cannot last forever.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

// Upper bounds on waits; reaching one means something is stuck.
const START_BOUND_MS = 30000;
const STOP_BOUND_MS = 15000;

const started = new Set();   // live children, for the emergency stop

// Poll `probe` (async, returns a truthy value when ready) until it is, the
// bound passes, or `alive()` says the process we wait for has died.
async function waitFor(what, probe, { boundMs = START_BOUND_MS, alive } = {}) {
    const deadline = Date.now() + boundMs;
    let delay = 10;
    for (;;) {
        const dead = alive ? alive() : null;
        if (dead)
            throw new Error(`${what}: ${dead}`);
        const v = await probe();
        if (v)
            return v;
        if (Date.now() > deadline)
            throw new Error(`${what}: not ready after ${boundMs / 1000} s`);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 200);
    }
}

class Child {
    constructor(name, prog, args, logFile, opts = {}) {
        this.name = name;
        this.logFile = logFile;
        const out = fs.openSync(logFile, 'a');
        this.proc = spawn(prog, args, { stdio: ['ignore', out, out], ...opts });
        fs.closeSync(out);
        this.pid = this.proc.pid;
        this.exit = null;
        this.exited = new Promise((resolve) => {
            this.proc.on('exit', (code, signal) => {
                this.exit = { code, signal };
                started.delete(this);
                resolve(this.exit);
            });
        });
        this.proc.on('error', (err) => {
            this.exit = { code: null, signal: null, error: err };
            started.delete(this);
        });
        started.add(this);
    }

    // A reason when the process is gone, for waitFor's `alive`.
    deadReason() {
        if (!this.exit)
            return null;
        const e = this.exit;
        const how = e.error ? e.error.message
            : e.signal ? `killed by ${e.signal}` : `exited with code ${e.code}`;
        return `${this.name} (pid ${this.pid}) ${how}; its log: ${this.logFile}\n${tail(this.logFile)}`;
    }

    // SIGTERM, wait for the exit; SIGKILL if it does not come within the bound.
    async stop(signal = 'SIGTERM') {
        if (this.exit || this.pid === undefined)
            return this.exit;
        try { process.kill(this.pid, signal); } catch { /* already gone */ }
        let timer;
        const bound = new Promise((r) => { timer = setTimeout(r, STOP_BOUND_MS, null); });
        const res = await Promise.race([this.exited, bound]);
        clearTimeout(timer);
        if (res === null) {
            try { process.kill(this.pid, 'SIGKILL'); } catch { /* gone */ }
            return this.exited;
        }
        return res;
    }
}

function tail(file, lines = 20) {
    try {
        return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
        return '(no log)';
    }
}

// One PING over the unix socket; true on +PONG.
function redisPing(socketPath) {
    return new Promise((resolve) => {
        const s = net.createConnection(socketPath);
        let got = '';
        const done = (v) => { s.destroy(); resolve(v); };
        s.setTimeout(2000, () => done(false));
        s.on('error', () => done(false));
        s.on('connect', () => s.write('PING\r\n'));
        s.on('data', (d) => {
            got += d.toString();
            if (got.includes('\r\n'))
                done(got.startsWith('+PONG'));
        });
    });
}

class Services {
    constructor({ bin, src, redisBin = 'redis-server', processes = 2 }) {
        this.bin = bin;
        this.src = src;
        this.redisBin = redisBin;
        this.processes = processes;
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webserver-e2e-'));
        this.redisSocket = path.join(this.dir, 'redis.sock');
        this.loginMaxFailures = 5;
        this.redis = null;
        this.server = null;
        this.port = null;
    }

    get baseUrl() { return `http://127.0.0.1:${this.port}`; }

    async startRedis() {
        this.redis = new Child('redis-server', this.redisBin, [
            '--port', '0',                       // no TCP: the unix socket only
            '--unixsocket', this.redisSocket,
            '--unixsocketperm', '700',
            '--dir', this.dir,
            '--save', '', '--appendonly', 'no',
            '--daemonize', 'no',
        ], path.join(this.dir, 'redis.log'));
        await waitFor('redis-server PING', () => redisPing(this.redisSocket),
                      { alive: () => this.redis.deadReason() });
    }

    async stopRedis() {
        if (this.redis)
            await this.redis.stop();
    }

    async startServer() {
        const portFile = path.join(this.dir, 'port');
        const conf = path.join(this.dir, 'webserver.conf');
        fs.writeFileSync(conf, [
            'listen_address = 127.0.0.1',
            'port = 0',
            `port_file = ${portFile}`,
            `processes = ${this.processes}`,
            `root = ${path.join(this.src, 'html')}`,
            `redis_host = unix:${this.redisSocket}`,
            `error_log = ${path.join(this.dir, 'error.log')}`,
            `access_log = ${path.join(this.dir, 'access.log')}`,
            'log_level = info',
            `login_max_failures = ${this.loginMaxFailures}`,
            '',
        ].join('\n'));
        this.server = new Child('webserver', this.bin, ['-c', conf],
                                path.join(this.dir, 'webserver.out'));
        const text = await waitFor('webserver port_file', () => {
            try {
                const t = fs.readFileSync(portFile, 'utf8');
                return /^\d+\s*$/.test(t) ? t : null;
            } catch {
                return null;
            }
        }, { alive: () => this.server.deadReason() });
        this.port = parseInt(text, 10);
    }

    async stopServer() {
        if (this.server)
            await this.server.stop();
    }

    // What the logs say, for a failure report.
    logs() {
        return ['error.log', 'webserver.out', 'redis.log'].map((f) =>
            `--- ${f} (last lines) ---\n${tail(path.join(this.dir, f))}`).join('\n');
    }

    async stop({ keepDir = false } = {}) {
        await this.stopServer();
        await this.stopRedis();
        if (!keepDir)
            fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

// Last resort on process exit: whatever is still running gets SIGKILL, by pid.
function killLeftovers() {
    for (const c of started) {
        try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    started.clear();
}

module.exports = { Services, waitFor, killLeftovers };
