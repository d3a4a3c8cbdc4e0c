'use strict';
// Watches one browser page for everything that should not happen on a
// healthy page: console errors, uncaught exceptions, Content-Security-Policy
// violations (the `securitypolicyviolation` DOM event, reported through a
// binding so that no page script is involved), requests that fail at the
// network level, and answers with a 4xx/5xx status. A case names the error
// answers it provokes on purpose with `expect()`; everything else is a
// problem that fails the case.

const { KNOWN_GAPS } = require('./site');

const CSP_BINDING = '__e2eSecurityPolicyViolation';

// Media elements cancel their own range requests when they seek or have
// read enough (preload="metadata"); Chromium reports those as
// net::ERR_ABORTED. Only that error on a media request is ordinary.
function ordinaryFailure(req) {
    const err = req.failure() ? req.failure().errorText : '';
    return err === 'net::ERR_ABORTED' && req.resourceType() === 'media';
}

class Watch {
    constructor(page) {
        this.page = page;
        this.events = [];        // every problem seen, in order
        this.responses = [];     // every answer: {url, status, headers, method, requestHeaders, resourceType, fromCache}
        this.expected = [];      // [{status, path}] provoked on purpose
        this.notes = [];         // known gaps seen
    }

    static async attach(page) {
        const w = new Watch(page);
        await page.exposeFunction(CSP_BINDING, (v) => {
            w.events.push({ kind: 'csp', text: `CSP violation: ${v.effectiveDirective} blocked ${v.blockedURI || '(inline)'} `
                + `in ${v.documentURI}${v.sourceFile ? ` (${v.sourceFile}:${v.lineNumber})` : ''}; policy: ${v.originalPolicy}` });
        });
        await page.evaluateOnNewDocument((binding) => {
            document.addEventListener('securitypolicyviolation', (e) => {
                window[binding]({
                    effectiveDirective: e.effectiveDirective,
                    blockedURI: e.blockedURI,
                    documentURI: e.documentURI,
                    sourceFile: e.sourceFile,
                    lineNumber: e.lineNumber,
                    originalPolicy: e.originalPolicy,
                });
            });
        }, CSP_BINDING);
        page.on('console', (msg) => {
            if (msg.type() === 'error')
                w.events.push({ kind: 'console', text: msg.text(), url: msg.location().url || '' });
        });
        page.on('pageerror', (err) => {
            w.events.push({ kind: 'pageerror', text: `uncaught: ${err.message || err}` });
        });
        page.on('requestfailed', (req) => {
            if (!ordinaryFailure(req))
                w.events.push({ kind: 'requestfailed', url: req.url(),
                                text: `${req.method()} ${req.url()} failed: ${req.failure() ? req.failure().errorText : '?'}` });
        });
        page.on('response', (res) => {
            const req = res.request();
            w.responses.push({ url: res.url(), status: res.status(), headers: res.headers(),
                               method: req.method(), requestHeaders: req.headers(),
                               resourceType: req.resourceType(), fromCache: res.fromCache() });
            if (res.status() >= 400)
                w.events.push({ kind: 'http', url: res.url(), status: res.status(),
                                text: `${req.method()} ${res.url()} answered ${res.status()}` });
        });
        return w;
    }

    // This case provokes `status` on `path` on purpose.
    expect(status, path) {
        this.expected.push({ status, path });
    }

    // The entry of `list` that covers this event, if any.
    match(ev, list) {
        const url = ev.url ? new URL(ev.url) : null;
        const status = ev.kind === 'http' ? ev.status
            // Chromium logs every 4xx/5xx answer again as a console error
            : ev.kind === 'console' ? Number((/^Failed to load resource: the server responded with a status of (\d+)/.exec(ev.text) || [])[1])
            : NaN;
        return list.find((x) => url && x.status === status && url.pathname === x.path);
    }

    // The problems nobody asked for, as readable lines.
    problems() {
        for (const ev of this.events) {
            const gap = ev.kind === 'http' && this.match(ev, KNOWN_GAPS);
            if (gap && !this.notes.includes(gap.why))
                this.notes.push(gap.why);
        }
        return this.events.filter((ev) => !this.match(ev, this.expected) && !this.match(ev, KNOWN_GAPS))
            .map((ev) => `[${ev.kind}] ${ev.text}${ev.kind === 'console' && ev.url ? ` (at ${ev.url})` : ''}`);
    }
}

module.exports = { Watch };
