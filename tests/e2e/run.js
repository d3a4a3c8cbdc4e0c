#!/usr/bin/env node
'use strict';
// Browser tests: starts a private redis-server and the webserver on an
// ephemeral port, drives headless Chromium through the site's flows, writes
// screenshots, stops everything it started.
//
//   node tests/e2e/run.js [PATTERN]     run the cases whose name matches PATTERN
//
// Environment: WEBSERVER_BIN (default build/webserver), WEBSERVER_SRC (the
// repository, default two folders up), WEBSERVER_BUILD_DIR (screenshots go
// to its e2e-screenshots/; default the binary's folder), CHROMIUM (default
// /usr/bin/chromium), E2E_REQUIRED=1 to fail rather than skip (exit 77)
// when Chromium or puppeteer-core is missing.

const fs = require('node:fs');
const path = require('node:path');

const SKIP = 77;
const src = path.resolve(process.env.WEBSERVER_SRC || path.join(__dirname, '..', '..'));
const bin = path.resolve(process.env.WEBSERVER_BIN || path.join(src, 'build', 'webserver'));
const buildDir = path.resolve(process.env.WEBSERVER_BUILD_DIR || path.dirname(bin));
const screenshotDir = path.join(buildDir, 'e2e-screenshots');
const required = process.env.E2E_REQUIRED === '1';

function missing(what) {
    console.log(`e2e: ${what}`);
    if (required) {
        console.log('e2e: E2E_REQUIRED=1, so this is a failure, not a skip');
        process.exit(1);
    }
    console.log('e2e: skipped (tools/test.sh installs what the browser tests need)');
    process.exit(SKIP);
}

function findChromium() {
    if (process.env.CHROMIUM)
        return fs.existsSync(process.env.CHROMIUM) ? process.env.CHROMIUM : null;
    for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) {
        if (fs.existsSync(p))
            return p;
    }
    return null;
}

let puppeteer;
try {
    puppeteer = require('puppeteer-core');
} catch {
    missing(`puppeteer-core is not installed; run: npm ci --prefix ${__dirname}`);
}
const chromium = findChromium();
if (!chromium)
    missing('no Chromium (Debian package "chromium"; or set CHROMIUM=/path/to/chrome)');
if (!fs.existsSync(bin)) {
    console.log(`e2e: no webserver binary at ${bin} (build first, or set WEBSERVER_BIN)`);
    process.exit(1);
}

const { Services, killLeftovers } = require('./lib/services');
const { Harness } = require('./lib/harness');
const { addCases } = require('./cases');

let services = null;
let browser = null;

async function shutdown() {
    if (browser) {
        const proc = browser.process();
        await browser.close().catch(() => {});
        if (proc && proc.exitCode === null && proc.signalCode === null) {
            try { process.kill(proc.pid, 'SIGKILL'); } catch { /* gone */ }
        }
        browser = null;
    }
    if (services) {
        await services.stop({ keepDir: !!process.env.E2E_KEEP });
        services = null;
    }
}

let stopping = false;
for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
    process.on(sig, () => {
        if (stopping)
            return;
        stopping = true;
        console.log(`e2e: ${sig}, stopping what was started`);
        shutdown().finally(() => process.exit(code));
    });
}
process.on('exit', killLeftovers);

async function main() {
    const filter = process.argv[2] ? new RegExp(process.argv[2], 'i') : null;
    services = new Services({ bin, src });
    await services.startRedis();
    await services.startServer();
    console.log(`e2e: webserver ${bin} on ${services.baseUrl}, redis on ${services.redisSocket}`);

    browser = await puppeteer.launch({
        executablePath: chromium,
        headless: true,
        handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
        userDataDir: path.join(services.dir, 'chromium-profile'),
        args: [
            '--no-sandbox',          // root in CI; the sandbox needs a user namespace
            '--disable-gpu',
            '--disable-quic',
            '--no-first-run',
            '--disable-background-networking',   // no calls home: the network is closed
            '--disable-component-update',
            '--disable-sync',
            '--disable-dev-shm-usage',
        ],
    });
    console.log(`e2e: ${await browser.version()} at ${chromium}`);

    const h = new Harness({ browser, services, screenshotDir, filter, stopped: () => stopping });
    addCases(h);
    const counts = await h.run();
    if (stopping)
        return 130;                 // interrupted: no summary that looks like a result
    if (h.shots.length > 0)
        console.log(`e2e: ${h.shots.length} screenshots in ${screenshotDir}`);
    if (counts.failed > 0)
        console.log(services.logs());
    console.log(`${counts.passed} passed, ${counts.failed} failed`);
    return counts.failed === 0 && counts.passed > 0 ? 0 : 1;
}

// After a signal, the signal's handler stops everything and sets the exit
// code; whatever main() says then is noise.
main().then(async (code) => {
    if (stopping)
        return;
    await shutdown();
    process.exit(code);
}, async (err) => {
    if (stopping)
        return;
    console.log(`e2e: ${err && err.stack ? err.stack : err}`);
    if (services)
        console.log(services.logs());
    await shutdown();
    process.exit(1);
});
