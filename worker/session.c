/* session.c - POST /register, POST /login, POST /logout, GET /welcome.
 * Worker only. Users live in Redis as hashes user:<name> {hash}, created
 * with HSETNX so two registrations of one name cannot both win. Sessions
 * are session:<token> -> name with EX session_ttl, refreshed by GETEX on
 * every /welcome (sliding expiry). Failed logins count in fail:<name> with
 * a 15-minute window; the 6th try within it answers 429.
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
#include <sys/random.h>

#include "clock.h"
#include "crypt_pool.h"
#include "defs.h"
#include "http_response.h"
#include "http_util.h"
#include "log.h"
#include "redis_client.h"
#include "txn.h"
#include "worker_ctx.h"

#define SESSION_USER_MIN      3
#define SESSION_USER_MAX      32
#define SESSION_PASS_MIN      8
#define SESSION_PASS_MAX      128
#define SESSION_TOKEN_BYTES   32
#define SESSION_TOKEN_HEX     (2 * SESSION_TOKEN_BYTES)
#define SESSION_FAIL_LIMIT    5
#define SESSION_FAIL_WINDOW_S 900
#define SESSION_KEY_MAX       96

static const char session_no_store[] = "Cache-Control: no-store\r\n";
static const char session_retry[] = "Retry-After: 5\r\n";

/* A failed login answers 401, which RFC 9110 15.5.2 says MUST carry a
 * challenge. Ours names the HTML form as the scheme ("Form" is no
 * registered scheme: browsers show no password dialog for it, just the
 * page, which says what to do); Cache-Control as on every session answer. */
static const char session_challenge[] =
    "WWW-Authenticate: Form realm=\"webserver\"\r\n"
    "Cache-Control: no-store\r\n";

/* Count a failed login and start its window on the first one, atomically. */
static const char session_fail_script[] =
    "local n = redis.call('INCR', KEYS[1]) "
    "if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end "
    "return n";

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
        return txn_is_tls(t);
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

static void
session_register_stored(const struct redis_client_reply *r, void *arg)
{
    struct txn *t = session_txn(arg);

    if (t == NULL)
        return;
    if (r == NULL || r->type != REDIS_CLIENT_INTEGER)
        session_unavailable(t);
    else if (r->integer == 1)
        session_redirect(t, "/login.html", NULL);
    else
        txn_respond_error(t, 409, session_no_store);
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
    if (redis_client_command_durable(session_register_stored, arg, 4, argv, lens) != RC_OK) {
        session_unavailable(t);
        session_resume(t);
    }
}

void
session_register(struct txn *t)
{
    struct session_form f;
    uint64_t id;
    int rc = session_form_read(t, &f);

    if (rc != RC_OK) {
        txn_respond_error(t, rc, session_no_store);
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

/* ---- Login ---- */

/* State of one login across its steps (fail count, user lookup, password
 * check, session creation). Freed by the step that answers. */
struct session_login {
    void           *ref;        /* session_ref() of the request */
    bool            known;      /* the user exists */
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

/* Answer 503 (or STATUS) and finish the login. */
static void
session_login_end(struct txn *t, struct session_login *L, int status)
{
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
session_login_counted(const struct redis_client_reply *r, void *arg)
{
    struct session_login *L = arg;
    struct txn *t = session_login_txn(L);

    if (t != NULL)
        session_login_end(t, L, r == NULL ? 503 : 401);
}

/* Count the failure, then answer 401. */
static void
session_login_failed(struct txn *t, struct session_login *L,
                     const struct session_form *f)
{
    char key[SESSION_KEY_MAX], window[16];
    const char *argv[5];
    size_t lens[5];

    snprintf(key, sizeof(key), "fail:%s", f->user);
    snprintf(window, sizeof(window), "%d", SESSION_FAIL_WINDOW_S);
    argv[0] = "EVAL";              lens[0] = 4;
    argv[1] = session_fail_script; lens[1] = sizeof(session_fail_script) - 1;
    argv[2] = "1";                 lens[2] = 1;
    argv[3] = key;                 lens[3] = strlen(key);
    argv[4] = window;              lens[4] = strlen(window);
    if (redis_client_command(session_login_counted, L, 5, argv, lens) != RC_OK)
        session_login_end(t, L, 503);
}

static void
session_ignore_reply(const struct redis_client_reply *r, void *arg)
{
    UNUSED(r);
    UNUSED(arg);
}

static void
session_login_created(const struct redis_client_reply *r, void *arg)
{
    struct session_login *L = arg;
    struct txn *t = session_login_txn(L);
    char cookie[160];

    if (t == NULL)
        return;
    if (r == NULL || r->type != REDIS_CLIENT_STATUS) {
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
    char key[SESSION_KEY_MAX], ttl[24];
    const char *argv[5];
    size_t lens[5];

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
        session_login_failed(t, L, &f);
        return;
    }

    /* clear the failure count; the reply does not matter */
    snprintf(key, sizeof(key), "fail:%s", f.user);
    argv[0] = "DEL"; lens[0] = 3;
    argv[1] = key;   lens[1] = strlen(key);
    redis_client_command(session_ignore_reply, NULL, 2, argv, lens);

    if (session_token_new(L->token) != RC_OK) {
        session_login_end(t, L, 500);
        return;
    }
    snprintf(key, sizeof(key), "session:%s", L->token);
    snprintf(ttl, sizeof(ttl), "%lld", (long long) (wctx.cfg.session_ttl / 1000));
    argv[0] = "SET";     lens[0] = 3;
    argv[1] = key;       lens[1] = strlen(key);
    argv[2] = f.user;    lens[2] = (size_t) f.ulen;
    argv[3] = "EX";      lens[3] = 2;
    argv[4] = ttl;       lens[4] = strlen(ttl);
    if (redis_client_command_durable(session_login_created, L, 5, argv, lens) != RC_OK)
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
session_login_checked(const struct redis_client_reply *r, void *arg)
{
    struct session_login *L = arg;
    struct txn *t = session_login_txn(L);
    struct session_form f;
    char key[SESSION_KEY_MAX];
    const char *argv[3];
    size_t lens[3];
    long long fails = 0;

    if (t == NULL)
        return;
    if (r == NULL) {
        session_login_end(t, L, 503);
        return;
    }
    if (session_form_read(t, &f) != RC_OK) {
        session_login_end(t, L, 500);
        return;
    }
    explicit_bzero(f.pass, sizeof(f.pass));
    if (r->type == REDIS_CLIENT_STRING && r->len > 0 && r->len < 20) {
        char num[24];
        memcpy(num, r->str, r->len);
        num[r->len] = '\0';
        fails = strtoll(num, NULL, 10);
    }
    if (fails >= SESSION_FAIL_LIMIT) {
        char extra[96];
        snprintf(extra, sizeof(extra), "Retry-After: %d\r\n%s",
                 SESSION_FAIL_WINDOW_S, session_no_store);
        txn_respond_error(t, 429, extra);
        free(L);
        session_resume(t);
        return;
    }
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
    char key[SESSION_KEY_MAX];
    const char *argv[2];
    size_t lens[2];
    int rc = session_form_read(t, &f);

    explicit_bzero(f.pass, sizeof(f.pass));
    if (rc != RC_OK) {
        txn_respond_error(t, rc, session_no_store);
        return;
    }
    L = calloc(1, sizeof(*L));
    if (L == NULL) {
        txn_respond_error(t, 500, NULL);
        return;
    }
    L->ref = session_ref(t);
    snprintf(key, sizeof(key), "fail:%s", f.user);
    argv[0] = "GET"; lens[0] = 3;
    argv[1] = key;   lens[1] = strlen(key);
    if (redis_client_command(session_login_checked, L, 2, argv, lens) != RC_OK) {
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

static void
session_logout_done(const struct redis_client_reply *r, void *arg)
{
    struct txn *t = session_txn(arg);

    if (t == NULL)
        return;
    if (r == NULL)
        session_unavailable(t);
    else
        session_redirect(t, "/", session_cookie_secure(t)
                                 ? session_clear_cookie_secure
                                 : session_clear_cookie);
    session_resume(t);
}

void
session_logout(struct txn *t)
{
    char token[SESSION_TOKEN_HEX + 1], key[SESSION_KEY_MAX];
    const char *argv[2];
    size_t lens[2];

    if (session_cookie_token(t, token) != RC_OK) {
        session_redirect(t, "/", session_clear_cookie);
        return;
    }
    snprintf(key, sizeof(key), "session:%s", token);
    argv[0] = "DEL"; lens[0] = 3;
    argv[1] = key;   lens[1] = strlen(key);
    if (session_command(t, session_logout_done, 2, argv, lens) != RC_OK)
        session_unavailable(t);
}

/* ---- Welcome ---- */

static void
session_welcome_found(const struct redis_client_reply *r, void *arg)
{
    struct txn *t = session_txn(arg);
    char name[6 * SESSION_USER_MAX + 1], page[2048];
    struct http_head h;
    int n;

    if (t == NULL)
        return;
    if (r == NULL || (r->type != REDIS_CLIENT_STRING && r->type != REDIS_CLIENT_NIL)) {
        session_unavailable(t);
        session_resume(t);
        return;
    }
    if (r->type == REDIS_CLIENT_NIL
        || http_util_html_escape(r->str, r->len, name, sizeof(name)) < 0) {
        session_redirect(t, "/login.html", session_clear_cookie);
        session_resume(t);
        return;
    }
    n = snprintf(page, sizeof(page),
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
        "<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<title>Welcome, %s</title>\n"
        "<link rel=\"stylesheet\" href=\"/style.css\">\n</head>\n<body>\n"
        "<main>\n<h1>Welcome, %s</h1>\n"
        "<p>You are signed in. Your session stays alive while you use the "
        "site.</p>\n"
        "<form method=\"post\" action=\"/logout\">"
        "<button type=\"submit\">Log out</button></form>\n"
        "<p><a href=\"/\">Home</a></p>\n</main>\n</body>\n</html>\n",
        name, name);
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
    const char *argv[4];
    size_t lens[4];

    if (session_cookie_token(t, token) != RC_OK) {
        session_redirect(t, "/login.html", NULL);
        return;
    }
    snprintf(key, sizeof(key), "session:%s", token);
    snprintf(ttl, sizeof(ttl), "%lld", (long long) (wctx.cfg.session_ttl / 1000));
    argv[0] = "GETEX"; lens[0] = 5;
    argv[1] = key;     lens[1] = strlen(key);
    argv[2] = "EX";    lens[2] = 2;
    argv[3] = ttl;     lens[3] = strlen(ttl);
    if (session_command(t, session_welcome_found, 4, argv, lens) != RC_OK)
        session_unavailable(t);
}
