'use strict';
// A small sequential case runner. Each case gets a fresh browser context
// (its own cookies) and a page under a Watch; after the case body, anything
// the Watch saw that the case did not expect fails the case. Known gaps
// (an error page not styled yet, no favicon) are described in lib/site.js.

const fs = require('node:fs');
const path = require('node:path');
const { Watch } = require('./watch');

// Bounds on any single wait; only a hang reaches them.
const PAGE_TIMEOUT_MS = 20000;
// A case that has not finished in this long is failed with what it was
// doing, instead of hanging the suite until ctest kills it (a bound on a
// hang, not a timing requirement).
const CASE_TIMEOUT_MS = 120000;

class Harness {
    constructor({ browser, services, screenshotDir, filter, stopped = () => false }) {
        this.browser = browser;
        this.stopped = stopped;
        this.services = services;
        this.screenshotDir = screenshotDir;
        this.filter = filter;
        this.cases = [];
        this.shots = [];
    }

    add(name, fn, opts = {}) {
        this.cases.push({ name, fn, ...opts });
    }

    // A page with its own Watch in the given browser context.
    async newPage(context) {
        const page = await context.newPage();
        page.setDefaultTimeout(PAGE_TIMEOUT_MS);
        page.setDefaultNavigationTimeout(PAGE_TIMEOUT_MS);
        await page.setViewport({ width: 1280, height: 800 });
        const watch = await Watch.attach(page);
        return { page, watch };
    }

    // Full-page screenshots at 1280 and 390 px wide, then back to 1280.
    async shot(page, name) {
        fs.mkdirSync(this.screenshotDir, { recursive: true });
        for (const width of [1280, 390]) {
            await page.setViewport({ width, height: width === 390 ? 844 : 800 });
            const file = path.join(this.screenshotDir, `${name}-${width}.png`);
            await page.screenshot({ path: file, fullPage: true });
            this.shots.push(file);
        }
        await page.setViewport({ width: 1280, height: 800 });
    }

    // What the page showed when a case failed, for the person reading the log.
    async failureShot(page, c) {
        if (page.isClosed())
            return;
        const slug = c.name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40);
        const file = path.join(this.screenshotDir, `FAILED-${slug}.png`);
        try {
            fs.mkdirSync(this.screenshotDir, { recursive: true });
            await page.setViewport({ width: 1280, height: 800 });
            await page.screenshot({ path: file, fullPage: true });
            console.log(`    screenshot of the failure: ${file}`);
        } catch { /* the page may be gone with the browser */ }
    }

    async runCase(c) {
        const context = await this.browser.createBrowserContext();
        const others = [];      // more contexts: other visitors, other devices
        const pages = [];
        const t = {
            base: this.services.baseUrl,
            services: this.services,
            shot: (page, name) => this.shot(page, name),
            newPage: async () => { const p = await this.newPage(context); pages.push(p); return p; },
            // a page in a context of its own (its own cookies: another browser)
            newVisitor: async () => {
                const ctx = await this.browser.createBrowserContext();
                others.push(ctx);
                const p = await this.newPage(ctx);
                pages.push(p);
                return p;
            },
        };
        try {
            const { page, watch } = await t.newPage();
            try {
                let timer;
                const hang = new Promise((_, reject) => {
                    timer = setTimeout(() => reject(plainError(
                        `the case did not finish within ${CASE_TIMEOUT_MS / 1000} s; the page was at ${page.url()}`)),
                        CASE_TIMEOUT_MS);
                });
                try {
                    await Promise.race([c.fn({ ...t, page, watch }), hang]);
                } finally {
                    clearTimeout(timer);
                }
            } catch (e) {
                await this.failureShot(page, c);
                throw e;
            }
            const problems = [];
            for (const p of pages) {
                if (!p.page.isClosed())
                    await p.page.evaluate(() => 0).catch(() => {}); // drain pending events
                problems.push(...p.watch.problems());
                for (const n of p.watch.notes)
                    console.log(`    note: known gap seen: ${n}`);
            }
            if (problems.length > 0)
                throw plainError(`unexpected on the page(s):\n  ${problems.join('\n  ')}`);
        } finally {
            for (const ctx of others)
                await ctx.close().catch(() => {});
            await context.close().catch(() => {});
        }
    }

    async run() {
        const counts = { passed: 0, failed: 0 };
        // no pictures of an earlier run left to mislead
        fs.rmSync(this.screenshotDir, { recursive: true, force: true });
        const selected = this.cases.filter((c) => !this.filter || this.filter.test(c.name));
        let i = 0;
        for (const c of selected) {
            if (this.stopped())
                break;
            i++;
            const started = Date.now();
            let error = null;
            try {
                await this.runCase(c);
            } catch (e) {
                error = e;
            }
            const secs = ((Date.now() - started) / 1000).toFixed(1);
            if (this.stopped())
                break;              // a signal came: its errors are no result
            if (error) {
                counts.failed++;
                console.log(`FAIL ${i} - ${c.name} (${secs} s)\n    ${indent(describe(error))}`);
            } else {
                counts.passed++;
                console.log(`ok ${i} - ${c.name} (${secs} s)`);
            }
        }
        return counts;
    }
}

// An error whose message says it all (no stack trace in the report).
function plainError(message) {
    const e = new Error(message);
    e.plain = true;
    return e;
}

function describe(e) {
    if (e && (e.plain || (e.code === 'ERR_ASSERTION' && e.generatedMessage === false)))
        return e.message;
    return (e && e.stack) || String(e);
}

function indent(s) {
    return s.split('\n').join('\n    ');
}

module.exports = { Harness, PAGE_TIMEOUT_MS };
