'use strict';
// The flows a person goes through on the site, one case each. How a page
// is expected to look lives in lib/site.js; here is only what a person does.

const assert = require('node:assert/strict');
const site = require('./lib/site');

const PASSWORD = 'correct-horse-42';
// bounds a hang of set-up requests only (the server answers within
// redis_timeout + send_timeout even when Redis is stuck)
const FETCH_TIMEOUT_MS = 45000;
let serial = 0;

// A fresh user name for each case (Redis is private to the run).
function newName(what) {
    serial++;
    return `${what}_${serial}`;
}

// Set-up that is not under test goes over plain HTTP.
async function registerByHttp(base, username, password = PASSWORD) {
    const res = await fetch(`${base}/register`, {
        method: 'POST', redirect: 'manual', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
        body: new URLSearchParams({ username, password }),
    });
    assert.equal(res.status, 303, `set-up: POST /register for ${username} answered ${res.status}`);
}

async function loginByHttp(base, username, password = PASSWORD) {
    const res = await fetch(`${base}/login`, {
        method: 'POST', redirect: 'manual', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
        body: new URLSearchParams({ username, password }),
    });
    return res.status;
}

async function open(page, url, status = 200) {
    const res = await page.goto(url, { waitUntil: 'load' });
    assert.ok(res, `no answer for ${url}`);
    // a page the browser has and revalidated (304) is shown as a 200 would be
    const got = status === 200 && res.status() === 304 ? 200 : res.status();
    assert.equal(got, status, `GET ${url} answered ${res.status()}, expected ${status}`);
    return res;
}

// Type into the page's form and submit it with its button, as a person does.
async function submitForm(page, fields) {
    for (const [name, value] of Object.entries(fields)) {
        const input = await page.$(`form input[name="${name}"]`);
        assert.ok(input, `${page.url()}: the form has no input named "${name}"`);
        await input.type(value);
    }
    const button = await page.$('form button[type="submit"]');
    assert.ok(button, `${page.url()}: the form has no submit button`);
    const [res] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), button.click()]);
    return res;
}

async function logInThroughForm(page, base, username, password = PASSWORD) {
    await open(page, `${base}/login.html`);
    return submitForm(page, { username, password });
}

async function sessionCookie(page) {
    return (await page.cookies()).find((c) => c.name === 'sid');
}

// Seek the page's video to the middle and let it play on: the position must
// get from the seek point at least halfway to the end (media time, not a
// clock), with no media error, and the video must have come in 206 answers.
// `src`: play that file instead of the browser's pick among the <source>s.
async function seekAndPlay(page, watch, src) {
    // the browser's HTTP cache answers range requests from a whole file it
    // has; the server's ranges are what is under test
    await page.setCacheEnabled(false);
    const seen = src ? watch.responses.length : 0;   // the answers for this file
    await page.evaluate((src) => {
        const v = document.querySelector('video');
        window.__e2eMediaErrors = [];
        const note = (e) => window.__e2eMediaErrors.push(`${e.target.tagName} ${e.target.src || e.target.currentSrc}`);
        v.addEventListener('error', note);
        for (const s of v.querySelectorAll('source'))
            s.addEventListener('error', note);
        if (src) {
            v.src = src;
            v.load();
        }
    }, src);
    await page.waitForFunction((src) => {
        const v = document.querySelector('video');
        return v.error || window.__e2eMediaErrors.length > 0
            || ((!src || v.currentSrc === src) && v.readyState >= 1 && Number.isFinite(v.duration) && v.duration > 0);
    }, {}, src);
    const { duration, current, error } = await page.$eval('video', (v) => ({
        duration: v.duration, current: v.currentSrc, error: v.error && `${v.error.code} ${v.error.message}` }));
    assert.equal(error, null, `media error loading ${src || current}: ${error}`);
    const target = duration / 2;
    const goal = target + (duration - target) / 2;
    await page.evaluate((t) => {
        const v = document.querySelector('video');
        v.muted = true;          // a muted video may play without a click
        window.__e2eSeeked = false;
        v.addEventListener('seeked', () => { window.__e2eSeeked = true; }, { once: true });
        v.currentTime = t;
        return v.play();
    }, target);
    await page.waitForFunction((g) => {
        const v = document.querySelector('video');
        return v.error || window.__e2eMediaErrors.length > 0 || (window.__e2eSeeked && (v.currentTime >= g || v.ended));
    }, {}, goal);
    const state = await page.evaluate(() => {
        const v = document.querySelector('video');
        v.pause();
        return { error: v.error && `${v.error.code} ${v.error.message}`, errors: window.__e2eMediaErrors,
                 currentTime: v.currentTime, ended: v.ended };
    });
    assert.equal(state.error, null, `media error while playing ${current}: ${state.error}`);
    assert.deepEqual(state.errors, [], `error events on the video: ${state.errors.join(', ')}`);
    assert.ok(state.currentTime >= goal || state.ended,
              `${current}: currentTime ${state.currentTime} did not get from the seek point ${target} to ${goal}`);
    const media = watch.responses.slice(seen).filter((r) => r.resourceType === 'media' || r.url === current);
    const partial = media.filter((r) => r.url === current && r.status === 206 && !r.fromCache);
    assert.ok(partial.length > 0,
              `no 206 answer from the server for ${current}; media answers: `
              + `${media.map((r) => `${r.status}${r.fromCache ? ' (from the browser cache)' : ''} ${r.url}`).join(', ') || 'none'}`);
    for (const r of partial) {
        assert.match(r.headers['content-range'] || '', /^bytes \d+-\d+\/\d+$/,
                     `206 for ${r.url} has Content-Range "${r.headers['content-range']}"`);
    }
    console.log(`    note: ${current} (${duration.toFixed(1)} s) seeked to ${target.toFixed(1)} s, played to ${state.currentTime.toFixed(1)} s; `
                + `answers: ${partial.map((r) => `206 ${r.headers['content-range']}`).join(', ')}`);
}

function addCases(h) {
    h.add('home page: stylesheet, image and video metadata load', async ({ base, page, shot }) => {
        await open(page, `${base}/`);
        await site.assertLayout(page, 'the home page');
        await page.waitForFunction(() => {
            const img = document.querySelector('main img');
            return img && img.complete && img.naturalWidth > 0;
        });
        await page.waitForFunction(() => {
            const v = document.querySelector('video');
            return v && (v.readyState >= 1 || v.error);
        });
        const err = await page.$eval('video', (v) => v.error && v.error.code);
        assert.equal(err, null, `the video reports media error ${err}`);
        // for the picture: wait until the player has stopped loading (no spinner)
        await page.waitForFunction(() => document.querySelector('video').networkState !== HTMLMediaElement.NETWORK_LOADING);
        await shot(page, 'index');
    });

    h.add('register: the form creates an account and leads to the login page', async ({ base, page, shot }) => {
        const name = newName('reg');
        await open(page, `${base}/register.html`);
        await site.assertLayout(page, 'the register page');
        await shot(page, 'register');
        await submitForm(page, { username: name, password: PASSWORD });
        await site.assertRegistered(page);
        assert.equal(await loginByHttp(base, name), 303, `the account ${name} made through the form cannot log in`);
    });

    h.add('log in: the form leads to /welcome, which names the user', async ({ base, page, shot }) => {
        const name = newName('login');
        await registerByHttp(base, name);
        await open(page, `${base}/login.html`);
        await site.assertLayout(page, 'the login page');
        await shot(page, 'login');
        await submitForm(page, { username: name, password: PASSWORD });
        await site.assertWelcome(page, name);
        const sid = await sessionCookie(page);
        assert.ok(sid, 'no sid cookie after logging in');
        assert.ok(sid.httpOnly, 'the sid cookie is not HttpOnly');
        await shot(page, 'welcome');
    });

    h.add('reload: /welcome keeps the session, also when reached from the home page', async ({ base, page }) => {
        const name = newName('reload');
        await registerByHttp(base, name);
        await logInThroughForm(page, base, name);
        await site.assertWelcome(page, name);
        const res = await page.reload({ waitUntil: 'load' });
        assert.equal(res.status(), 200, `reloading /welcome answered ${res.status()}`);
        await site.assertWelcome(page, name);
        await open(page, `${base}/`);
        const link = await page.$('header a[href="/welcome"]');
        assert.ok(link, 'the home page has no link to /welcome in its bar');
        await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), link.click()]);
        await site.assertWelcome(page, name);
    });

    h.add('log out: ends the session; /welcome then leads to the login page', async ({ base, page }) => {
        const name = newName('logout');
        await registerByHttp(base, name);
        await logInThroughForm(page, base, name);
        await site.assertWelcome(page, name);
        const sid = await sessionCookie(page);
        assert.ok(sid, 'no sid cookie after logging in');
        const button = await site.logoutButton(page);
        assert.ok(button, '/welcome has no "Log out" button');
        await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), button.click()]);
        await site.assertLoggedOut(page);
        assert.equal(await sessionCookie(page), undefined, 'the sid cookie is still there after logging out');
        await open(page, `${base}/welcome`);
        assert.equal(new URL(page.url()).pathname, '/login.html', `after logging out, /welcome led to ${page.url()}`);
        // the old token must be dead in Redis too, not only gone from the browser
        await page.setCookie({ ...sid, expires: -1 });
        await open(page, `${base}/welcome`);
        assert.equal(new URL(page.url()).pathname, '/login.html',
                     `the session cookie from before logging out still opens ${page.url()}`);
    });

    h.add('wrong password: the login is refused with the site\'s message', async ({ base, page, watch, shot }) => {
        const name = newName('wrongpw');
        await registerByHttp(base, name);
        watch.expect(401, '/login');
        const res = await logInThroughForm(page, base, name, `${PASSWORD}-not`);
        await site.assertLoginRefused(page, res, name);
        assert.equal(await sessionCookie(page), undefined, 'a refused login left a sid cookie');
        await shot(page, 'login-error');
    });

    h.add('taken name: registering an existing name is refused', async ({ base, page, watch, shot }) => {
        const name = newName('taken');
        await registerByHttp(base, name);
        watch.expect(409, '/register');
        await open(page, `${base}/register.html`);
        const res = await submitForm(page, { username: name, password: `${PASSWORD}-other` });
        await site.assertRegisterTaken(page, res, name);
        assert.equal(await loginByHttp(base, name, `${PASSWORD}-other`), 401,
                     'the second registration changed the password of the existing account');
        await shot(page, 'register-taken');
    });

    h.add('video: seeks to the middle and plays on', async ({ base, page, watch }) => {
        await open(page, `${base}/`);
        await seekAndPlay(page, watch, null);
    });

    h.add('video: the other sources play too, as in browsers that pick them', async ({ base, page, watch }) => {
        await open(page, `${base}/`);
        await page.waitForFunction(() => document.querySelector('video').currentSrc !== '');
        const { chosen, others } = await page.$eval('video', (v) => ({
            chosen: v.currentSrc,
            others: [...v.querySelectorAll('source')].filter((s) => s.src !== v.currentSrc)
                .map((s) => ({ src: s.src, type: s.type, can: v.canPlayType(s.type) })),
        }));
        assert.ok(others.length > 0, `the video has no source besides ${chosen}`);
        for (const o of others) {
            if (o.can === '') {
                console.log(`    note: this Chromium cannot play ${o.type} at all; ${o.src} not tried`);
                continue;
            }
            await seekAndPlay(page, watch, o.src);
        }
    });

    h.add('404: an unknown address shows the styled page', async ({ base, page, watch, shot }) => {
        watch.expect(404, '/no-such-page.html');
        const res = await page.goto(`${base}/no-such-page.html`, { waitUntil: 'load' });
        await site.assertErrorPage(page, res, 404);
        await shot(page, '404');
    });

    h.add('400: a registration past the form\'s own checks shows the form again', async ({ base, page, watch, shot }) => {
        // a browser that does not check `pattern` (or a person who turned it off)
        watch.expect(400, '/register');
        await open(page, `${base}/register.html`);
        await page.$eval('form', (f) => { f.noValidate = true; });
        const res = await submitForm(page, { username: 'no spaces allowed', password: PASSWORD });
        await site.assertRegisterInvalid(page, res, 'no spaces allowed');
        await shot(page, '400');
    });

    h.add('405: GET /login typed into the address bar', async ({ base, page, watch, shot }) => {
        watch.expect(405, '/login');
        const res = await page.goto(`${base}/login`, { waitUntil: 'load' });
        await site.assertErrorPage(page, res, 405);
        await shot(page, '405');
    });

    h.add('429: wrong passwords beyond the limit pause logins for that name', async ({ base, page, watch, services, shot }) => {
        const name = newName('throttle');
        await registerByHttp(base, name);
        watch.expect(401, '/login');
        watch.expect(429, '/login');
        const limit = services.loginMaxFailures;
        let res = null;
        for (let attempt = 1; attempt <= limit + 1; attempt++) {
            res = await logInThroughForm(page, base, name, `${PASSWORD}-${attempt}`);
            if (res.status() === 429)
                break;
            await site.assertLoginRefused(page, res, name);
        }
        assert.equal(res.status(), 429, `${limit + 1} wrong passwords in a row, and still no 429`);
        assert.ok(res.headers()['retry-after'], 'the 429 answer has no Retry-After');
        await site.assertLoginThrottled(page, res, name);
        await shot(page, '429');
    });

    h.add('bar: static pages show "My page / Log out" once signed in, and log out from there', async ({ base, page }) => {
        const name = newName('bar');
        await registerByHttp(base, name);
        for (const p of ['/', '/login.html', '/register.html']) {
            await open(page, `${base}${p}`);
            await site.assertBar(page, false);
        }
        await logInThroughForm(page, base, name);
        await site.assertWelcome(page, name);
        for (const p of ['/', '/login.html', '/register.html']) {
            await open(page, `${base}${p}`);
            await site.assertBar(page, true);
        }
        await open(page, `${base}/`);
        const button = await site.logoutButton(page);
        assert.ok(button, 'the bar has no "Log out" button');
        await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), button.click()]);
        await site.assertLoggedOut(page);
        assert.equal(await sessionCookie(page), undefined, 'the sid cookie is still there after logging out');
    });

    h.add('log out everywhere: ends the sessions of the other browser too', async ({ base, page, newVisitor }) => {
        const name = newName('everywhere');
        await registerByHttp(base, name);
        const other = (await newVisitor()).page;
        await logInThroughForm(other, base, name);
        await site.assertWelcome(other, name);
        await logInThroughForm(page, base, name);
        await site.assertWelcome(page, name);
        assert.equal(await site.sessionCount(page), 2, '/welcome does not count both sessions');
        const button = await site.logoutEverywhereButton(page);
        await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), button.click()]);
        await site.assertLoggedOut(page, true);
        await open(other, `${base}/welcome`);
        assert.equal(new URL(other.url()).pathname, '/login.html',
                     `the other browser's session survived "log out everywhere": ${other.url()}`);
    });

    h.add('cross-site: a form on another site cannot sign the visitor in', async ({ base, page, watch, shot }) => {
        const name = newName('csrf');
        await registerByHttp(base, name);
        watch.expect(403, '/login');
        // a page of no origin of ours (about:blank: Origin null), posting to us
        await page.setContent(`<form method="post" action="${base}/login">
            <input name="username" value="${name}"><input name="password" value="${PASSWORD}">
            <button type="submit">go</button></form>`);
        const [res] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }),
                                         page.click('button')]);
        await site.assertErrorPage(page, res, 403);
        assert.equal(await sessionCookie(page), undefined, 'a cross-site login set a session cookie');
        await shot(page, '403');
    });

    h.add('status: /status renders with one row per worker and the chart', async ({ base, page, services, shot }) => {
        await open(page, `${base}/status`);
        await site.assertLayout(page, 'the status page', { bar: false });
        const got = await page.evaluate(() => ({
            rows: document.querySelectorAll('tr.worker-row').length,
            pids: [...document.querySelectorAll('tr.worker-row')].map((r) => r.textContent),
            chart: !!document.querySelector('svg.chart'),
            refresh: !!document.querySelector('meta[http-equiv="refresh"]'),
            scripts: document.scripts.length,
        }));
        assert.equal(got.rows, services.processes, `/status shows ${got.rows} worker rows, want ${services.processes}`);
        assert.ok(got.chart, '/status has no chart');
        assert.ok(got.refresh, '/status does not refresh itself');
        assert.equal(got.scripts, 0, '/status carries script');
        await shot(page, 'status');
    });

    // Stops Redis: keep it last.
    h.add('Redis down: the forms answer the styled 503, static pages still work', async ({ base, page, watch, services, shot }) => {
        await services.stopRedis();
        await open(page, `${base}/register.html`);
        watch.expect(503, '/register');
        const res = await submitForm(page, { username: newName('noredis'), password: PASSWORD });
        await site.assertErrorPage(page, res, 503);
        assert.ok(res.headers()['retry-after'], 'the 503 answer has no Retry-After');
        await shot(page, '503');
        await open(page, `${base}/`);
        await site.assertLayout(page, 'the home page while Redis is down');
    });
}

module.exports = { addCases };
