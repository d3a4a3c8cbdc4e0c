/* session.c - POST /register, POST /login, POST /logout, GET /welcome.
 * Worker only. In Redis:
 *   user:<name>          hash {hash}: the account, created with HSETNX so
 *                        two registrations of one name cannot both win;
 *   session:<token>      hash {user, since} with EX session_ttl, refreshed
 *                        by every /welcome (sliding expiry);
 *   sessions:<name>      sorted set of the user's tokens (score: when
 *                        made, in us),
 *                        for "log out everywhere"; members whose session
 *                        has expired are pruned by every login and
 *                        /welcome, and at most SESSION_PER_USER_MAX live;
 *   login:fail:<client>/<name>, login:fail:<client>
 *                        failed logins per client address and username,
 *                        and per client address (see session_login()).
 * The three POST routes refuse cross-site requests first
 * (session_same_site()). Multi-key steps are Lua scripts (session_lua.c),
 * so each is one atomic round trip.
 * Handlers see the request through txn.h only. Each step runs from a
 * callback holding only a request reference (txn_ref()) packed into the
 * callback argument; the form is parsed again from the request body, which
 * stays with the request until the response is out.
 * SPDX-License-Identifier: MIT */
#include "session.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <sys/random.h>
#include <time.h>

#include "clock.h"
#include "crypt_pool.h"
#include "defs.h"
#include "form_page.h"
#include "http_response.h"
#include "http_util.h"
#include "log.h"
#include "net.h"
#include "redis_client.h"
#include "session_lua.h"
#include "site_nav.h"
#include "txn.h"
#include "worker_ctx.h"

#define SESSION_USER_MIN      3
#define SESSION_USER_MAX      32
#define SESSION_PASS_MIN      8
#define SESSION_PASS_MAX      128
#define SESSION_TOKEN_BYTES   32
#define SESSION_TOKEN_HEX     (2 * SESSION_TOKEN_BYTES)
#define SESSION_KEY_MAX       160
/* a client may fail this many times login_max_failures over all
 * usernames within the window (per username: login_max_failures) */
#define SESSION_CLIENT_FAILS  4
/* live sessions per user; a login beyond it ends the oldest */
#define SESSION_PER_USER_MAX  64

static const char session_no_store[] = "Cache-Control: no-store\r\n";
static const char session_retry[] = "Retry-After: 5\r\n";

/* A failed login answers 401, which RFC 9110 15.5.2 says MUST carry a
 * challenge. Ours names the HTML form as the scheme ("Form" is no
 * registered scheme: browsers show no password dialog for it, just the
 * page, which says what to do); Cache-Control as on every session answer. */
static const char session_challenge[] =
    "WWW-Authenticate: Form realm=\"webserver\"\r\n"
    "Cache-Control: no-store\r\n";

/* ---- Helpers ---- */

/* Does a cookie set in answer to T carry Secure (cookie_secure)? */
static bool
session_cookie_secure(const struct txn *t)
{
    switch (wctx.cfg.cookie_secure) {
    case CONFIG_COOKIE_SECURE_ON:
        return true;
    case CONFIG_COOKIE_SECURE_OFF:
        return false;
    default:
        return txn_is_secure(t);
    }
}

/* Callbacks hold a reference to the request, not the connection: a reply
 * that comes after its request was answered (timeout) or the connection
 * moved on is dropped. */
static void *
session_ref(const struct txn *t)
{
    return txn_ref(t);
}

static struct txn *
session_txn(void *arg)
{
    return txn_from_ref(arg);
}

int
session_token_new(char *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[SESSION_TOKEN_BYTES];
    size_t got = 0;

    while (got < sizeof(raw)) {
        ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
        if (n < 0)
            return RC_ERR;
        got += (size_t) n;
    }
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[SESSION_TOKEN_HEX] = '\0';
    return RC_OK;
}

int
session_username_valid(const char *s, size_t len)
{
    if (len < SESSION_USER_MIN || len > SESSION_USER_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
              || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.'
              || ch == '-'))
            return 0;
    }
    return 1;
}

/* The response is ready: send it. */
static void
session_resume(struct txn *t)
{
    txn_resume(t);
}

static void
session_wait(struct txn *t)
{
    txn_suspend(t);
}

/* Too many passwords are being hashed already: answer at once. */
static void
session_busy(struct txn *t)
{
    static uint64_t last_log;
    uint64_t now = clock_now();

    if (last_log == 0 || now - last_log >= 1000) {
        log_msg(LOG_WARN, "%d password jobs queued (hash_queue_max); "
                "answering 503", crypt_pool_queued());
        last_log = now;
    }
    txn_respond_error(t, 503, "Retry-After: 1\r\n");
}

/* A hashing job runs for C's request: stop it if the request ends first. */
static void
session_hashing(struct txn *t, uint64_t id)
{
    txn_on_abort(t, crypt_pool_cancel, id);
}

static void
session_redirect(struct txn *t, const char *location, const char *cookie)
{
    char extra[256];

    snprintf(extra, sizeof(extra), "%s%s", session_no_store,
             cookie != NULL ? cookie : "");
    txn_respond_redirect(t, 303, location, extra);
}

static void
session_unavailable(struct txn *t)
{
    txn_respond_error(t, 503, session_retry);
}

/* The request's own origin is its scheme (https over TLS or through a
 * trusted proxy that saw https) and Host. */
static bool
session_from_here(struct txn *t, const char *s, size_t len)
{
    size_t hlen;
    const char *host = txn_host(t, &hlen);

    return http_util_same_origin(s, len, txn_is_secure(t), host, hlen);
}

/* A POST that changes who is signed in must come from our own pages: a
 * browser names the page's origin in Origin (or at least in Referer), and
 * one from another site, or "null" (a sandboxed frame, a data: page), is
 * refused before anything changes. A request with neither header comes
 * from no browser page (curl, a script) and cannot ride on a visitor's
 * cookie, so it is allowed. Answers 403 itself and returns false. */
static bool
session_same_site(struct txn *t)
{
    size_t len;
    const char *from = txn_origin(t, &len), *what = "Origin";

    if (len == 0) {
        from = txn_referer(t, &len);
        what = "Referer";
        if (len == 0)
            return true;
    }
    if (session_from_here(t, from, len))
        return true;
    log_msg(LOG_INFO, "%s: cross-site POST %s refused (%s: %.*s)",
            txn_client_addr(t), txn_path(t), what,
            (int) (len > 200 ? 200 : len), from);
    txn_respond_error(t, 403, session_no_store);
    return false;
}

/* The client as failed logins count it: its address, or for IPv6 its /64
 * (one subscriber holds a whole /64 and could otherwise step through
 * addresses). OUT has room for INET6_ADDRSTRLEN + 4 bytes. */
static void
session_client_key(struct txn *t, char *out, size_t outlen)
{
    const char *addr = txn_client_addr(t);
    char text[INET6_ADDRSTRLEN];
    uint8_t family, bytes[16];

    if (net_addr_parse(addr, &family, bytes) != RC_OK) {
        snprintf(out, outlen, "%s", addr);     /* "-": one bucket */
        return;
    }
    if (family == AF_INET6)
        memset(bytes + 8, 0, 8);
    /* an IPv4-mapped IPv6 peer counts as its IPv4 address */
    if (inet_ntop(family, bytes, text, sizeof(text)) == NULL)
        snprintf(text, sizeof(text), "-");
    snprintf(out, outlen, family == AF_INET6 ? "%s/64" : "%s", text);
}

struct session_form {
    char user[SESSION_USER_MAX + 1];
    char pass[SESSION_PASS_MAX + 1];
    int  ulen, plen;
};

/* Parse and check username and password. Returns RC_OK or 400/415. */
static int
session_form_read(const struct txn *t, struct session_form *f)
{
    size_t len;
    const char *ct = txn_content_type(t, &len), *body;

    f->ulen = f->plen = -1;
    f->user[0] = '\0';
    if (len > 0) {
        static const char form[] = "application/x-www-form-urlencoded";
        if (len < sizeof(form) - 1
            || strncasecmp(ct, form, sizeof(form) - 1) != 0)
            return 415;
    }
    body = txn_body(t, &len);
    f->ulen = http_util_form_field(body, len, "username", f->user, sizeof(f->user));
    f->plen = http_util_form_field(body, len, "password", f->pass, sizeof(f->pass));
    if (f->ulen < 0 || f->plen < 0
        || !session_username_valid(f->user, (size_t) f->ulen)
        || f->plen < SESSION_PASS_MIN || f->plen > SESSION_PASS_MAX)
        return 400;
    return RC_OK;
}

/* A form F that session_form_read() refused with RC: show PAGE again with
 * what is wrong beside the field (415, a form no page of ours sends: the
 * error page). */
static void
session_form_refuse(struct txn *t, enum form_page page, int rc,
                    const struct session_form *f)
{
    bool user_ok = f->ulen >= 0
                   && session_username_valid(f->user, (size_t) f->ulen);

    if (rc != 400) {
        txn_respond_error(t, rc, session_no_store);
        return;
    }
    if (!user_ok)
        form_page_respond(t, page, 400, FORM_PAGE_USERNAME,
                          "A username has 3 to 32 letters, digits, dots, "
                          "dashes or underscores.",
                          f->ulen > 0 ? f->user : NULL, session_no_store);
    else
        form_page_respond(t, page, 400, FORM_PAGE_PASSWORD,
                          "A password has 8 to 128 characters.", f->user,
                          session_no_store);
}

static int
session_command(struct txn *t, redis_client_cb cb, int argc,
                const char **argv, const size_t *lens)
{
    if (redis_client_command(cb, session_ref(t), argc, argv, lens) != RC_OK)
        return RC_ERR;
    session_wait(t);
    return RC_OK;
}

/* The sid cookie, if it looks like one of our tokens. */
static int
session_cookie_token(const struct txn *t, char *token)
{
    size_t len;
    const char *cookie = txn_cookie(t, &len);
    int n;

    if (len == 0)
        return RC_DONE;
    n = http_util_cookie(cookie, len, "sid", token, SESSION_TOKEN_HEX + 1);
    if (n != SESSION_TOKEN_HEX)
        return RC_DONE;
    for (int i = 0; i < n; i++) {
        if (!((token[i] >= '0' && token[i] <= '9')
              || (token[i] >= 'a' && token[i] <= 'f')))
            return RC_DONE;
    }
    return RC_OK;
}

/* ---- Register ---- */

/* 409: the register page again, the name kept for the user to change. */
static void
session_register_taken(struct txn *t)
{
    struct session_form f;

    if (session_form_read(t, &f) != RC_OK)
        f.user[0] = '\0';
    explicit_bzero(f.pass, sizeof(f.pass));
    form_page_respond(t, FORM_PAGE_REGISTER, 409, FORM_PAGE_USERNAME,
                      "That username is taken: pick another one, or log in "
                      "if it is yours.", f.user, session_no_store);
}

static void
session_register_stored(const struct redis_client_reply *r, void *arg)
{
    struct txn *t = session_txn(arg);

    if (t == NULL)
        return;
    if (r == NULL || r->type != REDIS_CLIENT_INTEGER)
        session_unavailable(t);
    else if (r->integer == 1)
        session_redirect(t, "/login.html#created", NULL);
    else
        session_register_taken(t);
    session_resume(t);
}

static void
session_register_hashed(bool ok, const char *hash, void *arg)
{
    struct txn *t = session_txn(arg);
    struct session_form f;
    char key[SESSION_KEY_MAX];
    const char *argv[4];
    size_t lens[4];

    if (t == NULL)
        return;
    txn_on_abort(t, NULL, 0);
    if (!ok || session_form_read(t, &f) != RC_OK) {
        txn_respond_error(t, 500, NULL);
        session_resume(t);
        return;
    }
    snprintf(key, sizeof(key), "user:%s", f.user);
    argv[0] = "HSETNX";  lens[0] = 6;
    argv[1] = key;       lens[1] = strlen(key);
    argv[2] = "hash";    lens[2] = 4;
    argv[3] = hash;      lens[3] = strlen(hash);
    explicit_bzero(f.pass, sizeof(f.pass));
    if (redis_client_command_durable(session_register_stored, arg, 4, argv,
                                     lens) != RC_OK) {
        session_unavailable(t);
        session_resume(t);
    }
}

void
session_register(struct txn *t)
{
    struct session_form f;
    uint64_t id;
    int rc;

    if (!session_same_site(t))
        return;
    rc = session_form_read(t, &f);
    if (rc != RC_OK) {
        explicit_bzero(f.pass, sizeof(f.pass));
        session_form_refuse(t, FORM_PAGE_REGISTER, rc, &f);
        return;
    }
    if (redis_client_down()) {
        session_unavailable(t);
        return;
    }
    rc = crypt_pool_hash(f.pass, (size_t) f.plen, session_register_hashed,
                         session_ref(t), &id);
    explicit_bzero(f.pass, sizeof(f.pass));
    if (rc == RC_AGAIN) {
        session_busy(t);
        return;
    }
    if (rc != RC_OK) {
        txn_respond_error(t, 500, NULL);
        return;
    }
    session_hashing(t, id);
    session_wait(t);
}

/* ---- Login ----
 * 1. session_login(): same site, form; reserve a failure in both counts
 *    (session_lua_reserve), or 429 when either is used up;
 * 2. session_login_reserved(): HGET the user's hash;
 * 3. session_login_user(): check the password on the hashing pool (an
 *    unknown user against a dummy hash: the same cost);
 * 4. session_login_verified(): wrong: 401 (the failure is counted
 *    already); right: give the count back, create the session;
 * 5. session_login_created(): 303 to /welcome with the cookie. */

/* State of one login across its steps. Freed by the step that answers. */
struct session_login {
    void           *ref;        /* session_ref() of the request */
    bool            known;      /* the user exists */
    bool            reserved;   /* a failure is counted in advance */
    char            pair_key[SESSION_KEY_MAX];      /* client and user */
    char            client_key[SESSION_KEY_MAX];    /* client */
    char            token[SESSION_TOKEN_HEX + 1];
};

/* The conn of L, or NULL (and L freed) when it went away meanwhile. */
static struct txn *
session_login_txn(struct session_login *L)
{
    struct txn *t = session_txn(L->ref);

    if (t == NULL)
        free(L);
    return t;
}

static void
session_ignore_reply(const struct redis_client_reply *r, void *arg)
{
    UNUSED(r);
    UNUSED(arg);
}

/* Settle L's counted failure: HOW "ok" (right password) or "refund" (never
 * judged: Redis, the hashing pool or the server failed). */
static void
session_login_release(struct session_login *L, const char *how)
{
    const char *argv[6];
    size_t lens[6];

    if (!L->reserved)
        return;
    L->reserved = false;
    argv[0] = "EVAL";                 lens[0] = 4;
    argv[1] = session_lua_release;   lens[1] = strlen(session_lua_release);
    argv[2] = "2";                    lens[2] = 1;
    argv[3] = L->pair_key;            lens[3] = strlen(L->pair_key);
    argv[4] = L->client_key;          lens[4] = strlen(L->client_key);
    argv[5] = how;                    lens[5] = strlen(how);
    redis_client_command(session_ignore_reply, NULL, 6, argv, lens);
}

/* Answer STATUS and finish the login. An attempt that ends in anything
 * but 401 was never judged, and gives its failure back. */
static void
session_login_end(struct txn *t, struct session_login *L, int status)
{
    if (status != 401)
        session_login_release(L, "refund");
    if (status == 503)
        session_unavailable(t);
    else if (status == 401)
        txn_respond_error(t, status, session_challenge);
    else
        txn_respond_error(t, status, status < 500 ? session_no_store : NULL);
    free(L);
    session_resume(t);
}

static void
session_login_created(const struct redis_client_reply *r, void *arg)
{
    struct session_login *L = arg;
    struct txn *t = session_login_txn(L);
    char cookie[192];

    if (t == NULL)
        return;
    if (r == NULL || r->type != REDIS_CLIENT_INTEGER) {
        session_login_end(t, L, 503);
        return;
    }
    snprintf(cookie, sizeof(cookie), "Set-Cookie: sid=%s; Path=/; HttpOnly; "
             "SameSite=Lax; Max-Age=%lld%s\r\n", L->token,
             (long long) (wctx.cfg.session_ttl / 1000),
             session_cookie_secure(t) ? "; Secure" : "");
    session_redirect(t, "/welcome", cookie);
    free(L);
    session_resume(t);
}

static void
session_login_verified(bool ok, const char *hash, void *arg)
{
    struct session_login *L = arg;
    struct txn *t = session_login_txn(L);
    struct session_form f;
    char key[SESSION_KEY_MAX], set[SESSION_KEY_MAX], ttl[24], max[16];
    const char *argv[9];
    size_t lens[9];

    UNUSED(hash);
    if (t == NULL)
        return;
    txn_on_abort(t, NULL, 0);
    if (session_form_read(t, &f) != RC_OK) {
        session_login_end(t, L, 500);
        return;
    }
    explicit_bzero(f.pass, sizeof(f.pass));
    if (!ok || !L->known) {
        log_msg(LOG_INFO, "%s: failed login for \"%s\"", txn_client_addr(t),
                f.user);
        /* the failure is counted already */
        form_page_respond(t, FORM_PAGE_LOGIN, 401, FORM_PAGE_FORM,
                          "Wrong username or password.", f.user,
                          session_challenge);
        free(L);
        session_resume(t);
        return;
    }
    session_login_release(L, "ok");
    if (session_token_new(L->token) != RC_OK) {
        session_login_end(t, L, 500);
        return;
    }
    snprintf(key, sizeof(key), "session:%s", L->token);
    snprintf(set, sizeof(set), "sessions:%s", f.user);
    snprintf(ttl, sizeof(ttl), "%lld", (long long) (wctx.cfg.session_ttl / 1000));
    snprintf(max, sizeof(max), "%d", SESSION_PER_USER_MAX);
    argv[0] = "EVAL";                lens[0] = 4;
    argv[1] = session_lua_create;   lens[1] = strlen(session_lua_create);
    argv[2] = "2";                   lens[2] = 1;
    argv[3] = key;                   lens[3] = strlen(key);
    argv[4] = set;                   lens[4] = strlen(set);
    argv[5] = f.user;                lens[5] = (size_t) f.ulen;
    argv[6] = ttl;                   lens[6] = strlen(ttl);
    argv[7] = L->token;              lens[7] = SESSION_TOKEN_HEX;
    argv[8] = max;                   lens[8] = strlen(max);
    if (redis_client_command_durable(session_login_created, L, 9, argv, lens) != RC_OK)
        session_login_end(t, L, 503);
}

static void
session_login_user(const struct redis_client_reply *r, void *arg)
{
    struct session_login *L = arg;
    struct txn *t = session_login_txn(L);
    struct session_form f;
    char hash[CRYPT_POOL_HASH_MAX];
    uint64_t id;
    int rc;

    if (t == NULL)
        return;
    if (r == NULL || (r->type != REDIS_CLIENT_STRING && r->type != REDIS_CLIENT_NIL)) {
        session_login_end(t, L, 503);
        return;
    }
    if (session_form_read(t, &f) != RC_OK) {
        session_login_end(t, L, 500);
        return;
    }
    L->known = r->type == REDIS_CLIENT_STRING && r->len < sizeof(hash);
    if (L->known) {
        memcpy(hash, r->str, r->len);
        hash[r->len] = '\0';
    }
    /* an unknown user is checked against a dummy hash: same cost */
    rc = crypt_pool_verify(f.pass, (size_t) f.plen, L->known ? hash : NULL,
                           session_login_verified, L, &id);
    explicit_bzero(f.pass, sizeof(f.pass));
    if (rc == RC_AGAIN) {
        session_login_release(L, "refund");
        session_busy(t);
        free(L);
        session_resume(t);
    } else if (rc != RC_OK) {
        session_login_end(t, L, 500);
    } else {
        session_hashing(t, id);
    }
}

static void
session_login_reserved(const struct redis_client_reply *r, void *arg)
{
    struct session_login *L = arg;
    struct txn *t = session_login_txn(L);
    struct session_form f;
    char key[SESSION_KEY_MAX], extra[96];
    const char *argv[3];
    size_t lens[3];

    if (t == NULL)
        return;
    if (r == NULL || r->type != REDIS_CLIENT_INTEGER) {
        session_login_end(t, L, 503);       /* nothing was counted */
        return;
    }
    if (r->integer > 0) {
        /* a count is used up: say when its window ends */
        long long secs = (r->integer + 999) / 1000;
        char msg[160];

        log_msg(LOG_INFO, "%s: login throttled (%s)", txn_client_addr(t),
                L->pair_key);
        snprintf(extra, sizeof(extra), "Retry-After: %lld\r\n%s", secs,
                 session_no_store);
        snprintf(msg, sizeof(msg), "Too many failed logins came from your "
                 "address. Please try again in %lld minute%s.",
                 (secs + 59) / 60, (secs + 59) / 60 == 1 ? "" : "s");
        if (session_form_read(t, &f) != RC_OK)
            f.user[0] = '\0';
        explicit_bzero(f.pass, sizeof(f.pass));
        form_page_respond(t, FORM_PAGE_LOGIN, 429, FORM_PAGE_FORM, msg,
                          f.user, extra);
        free(L);
        session_resume(t);
        return;
    }
    L->reserved = true;
    if (session_form_read(t, &f) != RC_OK) {
        session_login_end(t, L, 500);
        return;
    }
    explicit_bzero(f.pass, sizeof(f.pass));
    snprintf(key, sizeof(key), "user:%s", f.user);
    argv[0] = "HGET"; lens[0] = 4;
    argv[1] = key;    lens[1] = strlen(key);
    argv[2] = "hash"; lens[2] = 4;
    if (redis_client_command(session_login_user, L, 3, argv, lens) != RC_OK)
        session_login_end(t, L, 503);
}

void
session_login(struct txn *t)
{
    struct session_login *L;
    struct session_form f;
    char client[INET6_ADDRSTRLEN + 8], pair_max[16], client_max[16],
         window[24];
    const char *argv[8];
    size_t lens[8];
    int rc;

    if (!session_same_site(t))
        return;
    rc = session_form_read(t, &f);
    explicit_bzero(f.pass, sizeof(f.pass));
    if (rc != RC_OK) {
        session_form_refuse(t, FORM_PAGE_LOGIN, rc, &f);
        return;
    }
    L = calloc(1, sizeof(*L));
    if (L == NULL) {
        txn_respond_error(t, 500, NULL);
        return;
    }
    L->ref = session_ref(t);
    session_client_key(t, client, sizeof(client));
    snprintf(L->pair_key, sizeof(L->pair_key), "login:fail:%s/%s", client,
             f.user);
    snprintf(L->client_key, sizeof(L->client_key), "login:fail:%s", client);
    snprintf(pair_max, sizeof(pair_max), "%d", wctx.cfg.login_max_failures);
    snprintf(client_max, sizeof(client_max), "%lld",
             (long long) wctx.cfg.login_max_failures * SESSION_CLIENT_FAILS);
    snprintf(window, sizeof(window), "%lld",
             (long long) wctx.cfg.login_failure_window);
    argv[0] = "EVAL";                 lens[0] = 4;
    argv[1] = session_lua_reserve;   lens[1] = strlen(session_lua_reserve);
    argv[2] = "2";                    lens[2] = 1;
    argv[3] = L->pair_key;            lens[3] = strlen(L->pair_key);
    argv[4] = L->client_key;          lens[4] = strlen(L->client_key);
    argv[5] = pair_max;               lens[5] = strlen(pair_max);
    argv[6] = client_max;             lens[6] = strlen(client_max);
    argv[7] = window;                 lens[7] = strlen(window);
    if (redis_client_command(session_login_reserved, L, 8, argv, lens) != RC_OK) {
        free(L);
        session_unavailable(t);
        return;
    }
    session_wait(t);
}

/* ---- Logout ---- */

static const char session_clear_cookie[] =
    "Set-Cookie: sid=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0\r\n";
static const char session_clear_cookie_secure[] =
    "Set-Cookie: sid=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Secure\r\n";

static const char *
session_clear(const struct txn *t)
{
    return session_cookie_secure(t) ? session_clear_cookie_secure
                                    : session_clear_cookie;
}

/* Does the logout form ask to end every session ("all=1")? */
static bool
session_logout_all(const struct txn *t)
{
    char all[8];
    size_t len;
    const char *body = txn_body(t, &len);

    return http_util_form_field(body, len, "all", all, sizeof(all)) == 1
           && all[0] == '1';
}

static void
session_logout_done(const struct redis_client_reply *r, void *arg)
{
    struct txn *t = session_txn(arg);

    if (t == NULL)
        return;
    if (r == NULL || r->type != REDIS_CLIENT_INTEGER)
        session_unavailable(t);
    else
        session_redirect(t, session_logout_all(t) ? "/#signed-out-everywhere"
                                                  : "/#signed-out",
                         session_clear(t));
    session_resume(t);
}

/* POST /logout ends the session its cookie names; with the form field
 * all=1 ("log out everywhere") every session of that user. */
void
session_logout(struct txn *t)
{
    char token[SESSION_TOKEN_HEX + 1], key[SESSION_KEY_MAX];
    const char *argv[6];
    size_t lens[6];

    if (!session_same_site(t))
        return;
    if (session_cookie_token(t, token) != RC_OK) {
        session_redirect(t, "/#signed-out", session_clear(t));
        return;
    }
    snprintf(key, sizeof(key), "session:%s", token);
    argv[0] = "EVAL";                lens[0] = 4;
    argv[1] = session_lua_logout;   lens[1] = strlen(session_lua_logout);
    argv[2] = "1";                   lens[2] = 1;
    argv[3] = key;                   lens[3] = strlen(key);
    argv[4] = token;                 lens[4] = SESSION_TOKEN_HEX;
    argv[5] = session_logout_all(t) ? "all" : "one";
    lens[5] = 3;
    if (session_command(t, session_logout_done, 6, argv, lens) != RC_OK)
        session_unavailable(t);
}

/* ---- Welcome ---- */

static void
session_welcome_found(const struct redis_client_reply *r, void *arg)
{
    struct txn *t = session_txn(arg);
    char name[6 * SESSION_USER_MAX + 1], page[4096], since[64], info[128];
    const char *sp1, *sp2, *end;
    long long since_s, count;
    struct http_head h;
    struct tm tm;
    time_t when;
    int n;

    if (t == NULL)
        return;
    if (r == NULL || (r->type != REDIS_CLIENT_STRING && r->type != REDIS_CLIENT_NIL)) {
        session_unavailable(t);
        session_resume(t);
        return;
    }
    /* "<since> <sessions> <user>" */
    end = r->type == REDIS_CLIENT_STRING ? r->str + r->len : NULL;
    sp1 = end != NULL ? memchr(r->str, ' ', r->len) : NULL;
    sp2 = sp1 != NULL ? memchr(sp1 + 1, ' ', (size_t) (end - sp1 - 1)) : NULL;
    if (sp2 == NULL
        || http_util_html_escape(sp2 + 1, (size_t) (end - sp2 - 1), name,
                                 sizeof(name)) < 0) {
        session_redirect(t, "/login.html", session_clear(t));
        session_resume(t);
        return;
    }
    since_s = strtoll(r->str, NULL, 10);
    count = strtoll(sp1 + 1, NULL, 10);
    when = (time_t) since_s;
    if (since_s > 0 && gmtime_r(&when, &tm) != NULL)
        strftime(since, sizeof(since), "%Y-%m-%d %H:%M UTC", &tm);
    else
        snprintf(since, sizeof(since), "an earlier visit");
    snprintf(info, sizeof(info), "%lld", count < 1 ? 1 : count);
    n = snprintf(page, sizeof(page),
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
        "<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<title>Welcome, %s - webserver</title>\n"
        "<link rel=\"stylesheet\" href=\"/style.css\">\n</head>\n<body>\n"
        "<header><a class=\"brand\" href=\"/\">webserver</a>"
        SITE_NAV_SIGNED_IN "</header>\n"
        "<main>\n<h1>Welcome, %s</h1>\n"
        "<p>You have been signed in since %s. Your session ends %lld minutes "
        "after your last visit.</p>\n"
        "<p>Active sessions: <strong>%s</strong> (this browser and any "
        "other where you are signed in).</p>\n"
        "<form method=\"post\" action=\"/logout\">"
        "<button type=\"submit\">Log out</button></form>\n"
        "<form method=\"post\" action=\"/logout\">"
        "<input type=\"hidden\" name=\"all\" value=\"1\">"
        "<button type=\"submit\">Log out everywhere</button></form>\n"
        "<p><a href=\"/\">Home</a></p>\n</main>\n</body>\n</html>\n",
        name, name, since, (long long) (wctx.cfg.session_ttl / 60000), info);
    memset(&h, 0, sizeof(h));
    h.status = 200;
    h.content_type = "text/html; charset=utf-8";
    h.extra = session_no_store;
    txn_respond_body(t, &h, page, (size_t) n);
    session_resume(t);
}

void
session_welcome(struct txn *t)
{
    char token[SESSION_TOKEN_HEX + 1], key[SESSION_KEY_MAX], ttl[24];
    const char *argv[5];
    size_t lens[5];

    if (session_cookie_token(t, token) != RC_OK) {
        session_redirect(t, "/login.html", NULL);
        return;
    }
    snprintf(key, sizeof(key), "session:%s", token);
    snprintf(ttl, sizeof(ttl), "%lld", (long long) (wctx.cfg.session_ttl / 1000));
    argv[0] = "EVAL";                 lens[0] = 4;
    argv[1] = session_lua_welcome;   lens[1] = strlen(session_lua_welcome);
    argv[2] = "1";                    lens[2] = 1;
    argv[3] = key;                    lens[3] = strlen(key);
    argv[4] = ttl;                    lens[4] = strlen(ttl);
    if (session_command(t, session_welcome_found, 5, argv, lens) != RC_OK)
        session_unavailable(t);
}
