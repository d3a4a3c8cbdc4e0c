/* test_sentinel.c - the server behind Redis Sentinel (issue 13): a private
 * Redis master, one replica and three redis-sentinel processes on
 * ephemeral ports, each in its own directory under the test's temp dir
 * (Sentinel rewrites its config file), and the server with
 * redis_sentinels. A failover, forced with SENTINEL FAILOVER or caused by
 * SIGKILL of the master, keeps a session made before it (written with
 * redis_wait_replicas = 1), static files answer 200 throughout, session
 * routes only 200/303/503, and afterwards nothing is written to the old
 * master, also once it is back as a replica. Workers subscribe to
 * +switch-master again when their sentinel goes. A master demoted behind the
 * workers' backs (a stand-in sentinel that never publishes) is left on its
 * READONLY reply. A dead first sentinel is
 * skipped, no live sentinel means 503 on session routes, and a WAIT that
 * a stopped replica cannot satisfy is logged but the login succeeds.
 * Every wait is on a condition with a generous deadline; every process is
 * stopped by pid.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define SETTLE_MS     90000     /* sentinels find each other (hello: 2 s) */
#define FAILOVER_MS   90000     /* bounds a hang, not a speed */
#define STATIC_BODY   "<h1>static index</h1>\n"
#define MASTER_NAME   "mymaster"
#define NSENTINELS    3

/* One redis-server or redis-sentinel the test started. */
struct node {
    pid_t pid;                  /* 0: not running */
    int   port;
    char  dir[WS_PATH_MAX];
    char  log[WS_PATH_MAX + 16];
};

struct fx {
    struct ws_server ws;
    struct node      red[2];            /* data nodes; red[0] starts master */
    struct node      sen[NSENTINELS];
};

/* A stand-in sentinel on a thread (test_sentinel_readonly): it names the
 * master on port `master` and answers SUBSCRIBE, but never publishes
 * anything, and it leaves the clients of the old master alone (a real one
 * may kill them). So a worker that keeps writing to a demoted master learns
 * of the move only from the READONLY replies. */
#define FAKE_CONNS 16

struct fake_sentinel {
    pthread_t   tid;
    int         lfd, port;
    atomic_int  master;         /* the port it names */
    atomic_int  asked;          /* get-master-addr-by-name queries */
    atomic_bool stop;
    bool        running;        /* the thread runs: teardown stops it */
};

/* Static: a failed assertion leaves the test function, not the thread. */
static struct fake_sentinel g_fake;

static void fake_stop(struct fake_sentinel *fs);

/* ---- Processes ---- */

static bool
node_pings(int port)
{
    struct redis_reply rep;
    int fd = redis_connect(port);
    bool ok;

    if (fd == -1)
        return false;
    ok = redis_command(fd, &rep, "PING", NULL) == 0 && rep.type == '+';
    redis_reply_free(&rep);
    close(fd);
    return ok;
}

/* Start ARGV (its process in N) and wait until it answers PING. */
static int
node_spawn(struct node *n, char *const argv[])
{
    int64_t deadline = ws_now_ms() + WS_READY_MS;
    int status;

    n->pid = ws_spawn_logged(argv, n->log);
    if (n->pid == -1) {
        n->pid = 0;
        return -1;
    }
    while (!node_pings(n->port)) {
        if (waitpid(n->pid, &status, WNOHANG) == n->pid) {
            fprintf(stderr, "test: %s exited (code %d), see %s\n", argv[0],
                    ws_exit_code(status), n->log);
            n->pid = 0;
            return -1;
        }
        if (ws_now_ms() >= deadline) {
            fprintf(stderr, "test: %s on %d not answering\n", argv[0],
                    n->port);
            return -1;
        }
        ws_sleep_ms(20);
    }
    return 0;
}

/* Prepare N in BASE/NAME; PORT 0 picks a free one. */
static void
node_init(struct node *n, const char *base, const char *name, int port)
{
    memset(n, 0, sizeof(*n));
    snprintf(n->dir, sizeof(n->dir), "%s/%s", base, name);
    snprintf(n->log, sizeof(n->log), "%s/log", n->dir);
    assert_int_equal(ws_mkdirs(n->dir), 0);
    n->port = port > 0 ? port : ws_free_port();
    assert_true(n->port > 0);
}

/* $NAME, else DEFAULT (as the harness does for redis-server). */
static char *
prog_path(const char *name, const char *def)
{
    const char *p = getenv(name);

    return (char *) (p != NULL && *p != '\0' ? p : def);
}

/* redis-server ($REDIS_SERVER) on N's port, a replica of REPLICAOF unless
 * it is 0. */
static void
redis_node_start(struct node *n, int replicaof)
{
    char port[16], master[16];
    char *argv[24];
    int k = 0;

    snprintf(port, sizeof(port), "%d", n->port);
    snprintf(master, sizeof(master), "%d", replicaof);
    argv[k++] = prog_path("REDIS_SERVER", "/usr/bin/redis-server");
    argv[k++] = "--port";       argv[k++] = port;
    argv[k++] = "--bind";       argv[k++] = "127.0.0.1";
    argv[k++] = "--save";       argv[k++] = "";
    argv[k++] = "--appendonly"; argv[k++] = "no";
    argv[k++] = "--daemonize";  argv[k++] = "no";
    argv[k++] = "--dir";        argv[k++] = n->dir;
    argv[k++] = "--repl-diskless-sync-delay"; argv[k++] = "0";
    if (replicaof > 0) {
        argv[k++] = "--replicaof";
        argv[k++] = "127.0.0.1";
        argv[k++] = master;
    }
    argv[k] = NULL;
    assert_int_equal(node_spawn(n, argv), 0);
}

/* redis-sentinel ($REDIS_SENTINEL) on N's port watching the master on MASTER_PORT; a quick
 * failover: down after 3 s (1 s can flap on a loaded machine: a failover
 * back and forth). Its own config file (Sentinel rewrites it). */
static void
sentinel_node_start(struct node *n, int master_port)
{
    char conf[WS_PATH_MAX + 32], text[1024];
    char *argv[] = { prog_path("REDIS_SENTINEL", "/usr/bin/redis-sentinel"),
                     conf, NULL };

    snprintf(conf, sizeof(conf), "%s/sentinel.conf", n->dir);
    snprintf(text, sizeof(text),
             "port %d\n"
             "bind 127.0.0.1\n"
             "daemonize no\n"
             "dir %s\n"
             "sentinel monitor " MASTER_NAME " 127.0.0.1 %d 2\n"
             "sentinel down-after-milliseconds " MASTER_NAME " 3000\n"
             "sentinel failover-timeout " MASTER_NAME " 10000\n"
             "sentinel parallel-syncs " MASTER_NAME " 1\n",
             n->port, n->dir, master_port);
    assert_int_equal(ws_write_text(conf, text), 0);
    assert_int_equal(node_spawn(n, argv), 0);
}

/* SIG, then wait for the exit (SIGKILL after WS_STOP_MS). */
static void
node_stop(struct node *n, int sig)
{
    int64_t deadline = ws_now_ms() + WS_STOP_MS;
    int status;

    if (n->pid <= 0)
        return;
    kill(n->pid, sig);
    while (waitpid(n->pid, &status, WNOHANG) != n->pid) {
        if (ws_now_ms() >= deadline) {
            kill(n->pid, SIGKILL);
            waitpid(n->pid, &status, 0);
            break;
        }
        ws_sleep_ms(20);
    }
    n->pid = 0;
}

static void
node_dump_log(const struct node *n)
{
    char *text = n->log[0] != '\0' ? ws_read_file(n->log, NULL) : NULL;

    if (text != NULL) {
        size_t len = strlen(text);
        fprintf(stderr, "test: --- %s (tail):\n%s\n", n->log,
                len > 6000 ? text + len - 6000 : text);
    }
    free(text);
}

/* ---- Fixture ---- */

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL || ws_init(&f->ws) == -1) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    int rc = 0;

    if (f->ws.running)
        ws_stop(&f->ws);
    fake_stop(&g_fake);
    for (int i = 0; i < NSENTINELS; i++) {
        if (!f->ws.passed)
            node_dump_log(&f->sen[i]);
        node_stop(&f->sen[i], SIGTERM);
    }
    for (int i = 0; i < 2; i++) {
        if (!f->ws.passed)
            node_dump_log(&f->red[i]);
        node_stop(&f->red[i], SIGTERM);
    }
    if (ws_cleanup(&f->ws) == -1)
        rc = -1;
    free(f);
    return rc;
}

/* ---- Asking Redis and Sentinel ---- */

/* The value of FIELD in a flat field/value array reply, or NULL. */
static const char *
reply_field(const struct redis_reply *r, const char *field)
{
    if (r->type != '*')
        return NULL;
    for (size_t i = 0; i + 1 < r->nelem; i += 2) {
        if (r->elem[i].str != NULL && strcmp(r->elem[i].str, field) == 0)
            return r->elem[i + 1].str;
    }
    return NULL;
}

/* The master port the sentinel on SPORT names, or -1. */
static int
sentinel_master_port(int sport)
{
    struct redis_reply rep;
    int port = -1;

    if (redis_query(sport, NULL, &rep, "SENTINEL", "get-master-addr-by-name",
                    MASTER_NAME, NULL) == 0
        && rep.type == '*' && rep.nelem == 2 && rep.elem[1].str != NULL)
        port = atoi(rep.elem[1].str);
    redis_reply_free(&rep);
    return port;
}

/* INFO SECTION of the node on PORT contains NEEDLE. */
static bool
info_has(int port, const char *section, const char *needle)
{
    struct redis_reply rep;
    bool ok = redis_query(port, NULL, &rep, "INFO", section, NULL) == 0
              && rep.str != NULL && strstr(rep.str, needle) != NULL;

    redis_reply_free(&rep);
    return ok;
}

/* The number after "NAME" (e.g. "errorstat_READONLY:count=") in INFO
 * SECTION of the node on PORT; 0 when absent, -1 when it cannot be asked. */
static long long
info_number(int port, const char *section, const char *name)
{
    struct redis_reply rep;
    long long v = -1;

    if (redis_query(port, NULL, &rep, "INFO", section, NULL) == 0
        && rep.str != NULL) {
        const char *p = strstr(rep.str, name);
        v = p != NULL ? atoll(p + strlen(name)) : 0;
    }
    redis_reply_free(&rep);
    return v;
}

/* Every sentinel sees the other two and one healthy replica, and the
 * replica's link to MASTER_PORT is up: a failover can be agreed on. */
static bool
cluster_settled(const struct fx *f, int master_port, int replica_port)
{
    char link[64];

    snprintf(link, sizeof(link), "master_port:%d\r\nmaster_link_status:up",
             master_port);
    if (!info_has(replica_port, "replication", link))
        return false;
    for (int i = 0; i < NSENTINELS; i++) {
        struct redis_reply rep;
        const char *v;
        bool ok;

        if (f->sen[i].pid <= 0)
            continue;
        if (sentinel_master_port(f->sen[i].port) != master_port)
            return false;
        ok = redis_query(f->sen[i].port, NULL, &rep, "SENTINEL", "MASTER",
                         MASTER_NAME, NULL) == 0
             && (v = reply_field(&rep, "num-other-sentinels")) != NULL
             && atoi(v) == NSENTINELS - 1
             && (v = reply_field(&rep, "num-slaves")) != NULL && atoi(v) == 1
             && (v = reply_field(&rep, "flags")) != NULL
             && strcmp(v, "master") == 0;
        redis_reply_free(&rep);
        if (!ok)
            return false;
        ok = redis_query(f->sen[i].port, NULL, &rep, "SENTINEL", "REPLICAS",
                         MASTER_NAME, NULL) == 0
             && rep.type == '*' && rep.nelem == 1
             && (v = reply_field(&rep.elem[0], "flags")) != NULL
             && strcmp(v, "slave") == 0;
        redis_reply_free(&rep);
        if (!ok)
            return false;
    }
    return true;
}

/* Wait until the node on REPLICA_PORT replicates from MASTER_PORT. */
static void
wait_link(int replica_port, int master_port)
{
    int64_t deadline = ws_now_ms() + SETTLE_MS;
    char link[64];

    snprintf(link, sizeof(link), "master_port:%d\r\nmaster_link_status:up",
             master_port);
    while (!info_has(replica_port, "replication", link)) {
        if (ws_now_ms() >= deadline)
            fail_msg("%d does not replicate from %d within %d ms",
                     replica_port, master_port, SETTLE_MS);
        ws_sleep_ms(50);
    }
}

static void
wait_settled(const struct fx *f, int master_port, int replica_port)
{
    int64_t deadline = ws_now_ms() + SETTLE_MS;

    while (!cluster_settled(f, master_port, replica_port)) {
        if (ws_now_ms() >= deadline)
            fail_msg("sentinels did not settle on master %d with replica %d "
                     "within %d ms", master_port, replica_port, SETTLE_MS);
        ws_sleep_ms(100);
    }
}

/* Wait until the sentinels settle on either data node as the master (one
 * failover too many on a slow machine must not fail a test that checks
 * where writes go); returns its index in red[]. */
static int
wait_settled_any(const struct fx *f)
{
    int64_t deadline = ws_now_ms() + SETTLE_MS;

    for (;;) {
        for (int m = 0; m < 2; m++) {
            if (cluster_settled(f, f->red[m].port, f->red[1 - m].port))
                return m;
        }
        if (ws_now_ms() >= deadline)
            fail_msg("sentinels did not settle within %d ms", SETTLE_MS);
        ws_sleep_ms(100);
    }
}

/* Master red[0], replica red[1], three sentinels; settled. */
static void
cluster_start(struct fx *f)
{
    char name[16];

    node_init(&f->red[0], f->ws.dir, "redis-a", 0);
    node_init(&f->red[1], f->ws.dir, "redis-b", 0);
    redis_node_start(&f->red[0], 0);
    redis_node_start(&f->red[1], f->red[0].port);
    for (int i = 0; i < NSENTINELS; i++) {
        snprintf(name, sizeof(name), "sentinel-%d", i);
        node_init(&f->sen[i], f->ws.dir, name, 0);
        sentinel_node_start(&f->sen[i], f->red[0].port);
    }
    wait_settled(f, f->red[0].port, f->red[1].port);
}

/* Normal client connections on PORT other than sentinels' and this one:
 * a worker talking to that node. -1 when it cannot be asked. */
static int
foreign_clients(int port)
{
    struct redis_reply rep;
    int n = -1;

    if (redis_query(port, NULL, &rep, "CLIENT", "LIST", "TYPE", "normal",
                    NULL) == 0 && rep.str != NULL) {
        n = 0;
        for (char *line = strtok(rep.str, "\n"); line != NULL;
             line = strtok(NULL, "\n")) {
            if (strstr(line, "name=sentinel-") == NULL
                && strstr(line, "cmd=client|list") == NULL)
                n++;
        }
    }
    redis_reply_free(&rep);
    return n;
}

/* ---- The server ---- */

/* Start the server (2 workers) with the sentinels of F, first FIRST
 * (NULL: none) in the list, and MORE config lines. */
static void
server_start(struct fx *f, const char *first, const char *more)
{
    char path[WS_PATH_MAX + 32], list[512], conf[2048];
    size_t n = 0;

    snprintf(path, sizeof(path), "%s/index.html", f->ws.root);
    assert_int_equal(ws_write_text(path, STATIC_BODY), 0);
    snprintf(path, sizeof(path), "%s/login.html", f->ws.root);
    assert_int_equal(ws_write_text(path, "<h1>login page</h1>\n"), 0);
    list[0] = '\0';
    if (first != NULL)
        n += (size_t) snprintf(list, sizeof(list), "%s", first);
    for (int i = 0; i < NSENTINELS; i++)
        n += (size_t) snprintf(list + n, sizeof(list) - n, "%s127.0.0.1:%d",
                               n > 0 ? " " : "", f->sen[i].port);
    snprintf(conf, sizeof(conf),
             "processes = 2\n"
             "log_level = info\n"
             "redis_sentinels = %s\n"
             "redis_master_name = " MASTER_NAME "\n"
             "redis_timeout = 1s\n"
             "%s",
             list, more != NULL ? more : "");
    assert_int_equal(ws_start_conf(&f->ws, conf), 0);
}

/* METHOD PATH with "Connection: close", a Cookie if COOKIE, BODY as a form
 * if not NULL. R holds the response on HTTP_OK. Thread-safe. */
static int
request(int port, const char *method, const char *path, const char *cookie,
        const char *body, struct http_resp *r)
{
    char hdr[512] = "";

    if (cookie != NULL)
        snprintf(hdr, sizeof(hdr), "Cookie: %s\r\n", cookie);
    return http_request_once(port, NULL, method, path, hdr, body, r);
}

/* The status of METHOD PATH (-1 on a transport error); a 503 must carry
 * Retry-After (else -2). */
static int
status_of(int port, const char *method, const char *path, const char *cookie,
          const char *body)
{
    struct http_resp r;
    int status;

    if (request(port, method, path, cookie, body, &r) != HTTP_OK)
        return -1;
    status = r.status;
    if (status == 503 && http_header(&r, "Retry-After") == NULL)
        status = -2;
    http_resp_free(&r);
    return status;
}

static void
user_form(char *out, size_t len, const char *user)
{
    snprintf(out, len, "username=%s&password=%s-password", user, user);
}

/* POST PATH for USER until it answers WANT (503 meanwhile: the worker
 * may still be finding the master). */
static void
post_until(int port, const char *path, const char *user, int want)
{
    int64_t deadline = ws_now_ms() + FAILOVER_MS;
    char body[256];
    int status;

    user_form(body, sizeof(body), user);
    while ((status = status_of(port, "POST", path, NULL, body)) != want) {
        if (status != 503)
            fail_msg("POST %s for %s: status %d, want %d or 503", path, user,
                     status, want);
        if (ws_now_ms() >= deadline)
            fail_msg("POST %s for %s: still 503 after %d ms", path, user,
                     FAILOVER_MS);
        ws_sleep_ms(50);
    }
}

/* Log USER in (until not 503); COOKIE gets "sid=<token>", TOKEN (if not
 * NULL) the token alone. */
static void
login(int port, const char *user, char *cookie, size_t len, char *token)
{
    int64_t deadline = ws_now_ms() + FAILOVER_MS;
    char body[256];
    struct http_resp r;
    const char *ck, *end;

    user_form(body, sizeof(body), user);
    for (;;) {
        if (request(port, "POST", "/login", NULL, body, &r) != HTTP_OK)
            fail_msg("POST /login: %s", http_strerror());
        if (r.status != 503)
            break;
        http_resp_free(&r);
        if (ws_now_ms() >= deadline)
            fail_msg("POST /login: still 503 after %d ms", FAILOVER_MS);
        ws_sleep_ms(50);
    }
    if (r.status != 303)
        fail_msg("POST /login for %s: status %d", user, r.status);
    ck = http_header(&r, "Set-Cookie");
    assert_non_null(ck);
    assert_true(strncmp(ck, "sid=", 4) == 0);
    end = strchr(ck, ';');
    assert_non_null(end);
    assert_true((size_t) (end - ck) < len);
    snprintf(cookie, len, "%.*s", (int) (end - ck), ck);
    if (token != NULL)
        snprintf(token, len, "%.*s", (int) (end - ck - 4), ck + 4);
    http_resp_free(&r);
}

/* GET /welcome with COOKIE until 200 and then COUNT more 200s in a row
 * (both workers have found the master); only 503 may come before. */
static void
welcome_until_ok(int port, const char *cookie, int count)
{
    int64_t deadline = ws_now_ms() + FAILOVER_MS;
    int ok = 0, status;

    while (ok < count) {
        status = status_of(port, "GET", "/welcome", cookie, NULL);
        if (status == 200) {
            ok++;
            continue;
        }
        if (status != 503)
            fail_msg("GET /welcome: status %d (want 200, or 503 while the "
                     "master is unknown)", status);
        ok = 0;
        if (ws_now_ms() >= deadline)
            fail_msg("GET /welcome: no %d answers 200 in a row within %d ms",
                     count, FAILOVER_MS);
        ws_sleep_ms(50);
    }
}

/* The key KEY exists on the node on PORT. */
static bool
key_exists(int port, const char *key)
{
    struct redis_reply rep;
    bool yes = redis_query(port, NULL, &rep, "EXISTS", key, NULL) == 0
               && rep.type == ':' && rep.integer == 1;

    redis_reply_free(&rep);
    return yes;
}

/* ---- Load while the master moves ---- */

struct load {
    pthread_t   tid;
    int         port;
    const char *cookie;
    atomic_bool stop;
    atomic_int  static_ok, static_bad;
    atomic_int  session_200, session_303, session_503, session_bad;
    int         last_bad;       /* the last unexpected status */
};

/* Until stopped: GET /index.html (must be 200) and GET /welcome with the
 * session (200, 303 or 503 with Retry-After), on fresh connections. */
static void *
load_run(void *arg)
{
    struct load *L = arg;
    int st;

    while (!atomic_load(&L->stop)) {
        struct http_resp r;

        if (request(L->port, "GET", "/index.html", NULL, NULL, &r) == HTTP_OK
            && r.status == 200 && r.body != NULL
            && strcmp(r.body, STATIC_BODY) == 0) {
            atomic_fetch_add(&L->static_ok, 1);
        } else {
            atomic_fetch_add(&L->static_bad, 1);
        }
        http_resp_free(&r);
        st = status_of(L->port, "GET", "/welcome", L->cookie, NULL);
        if (st == 200)
            atomic_fetch_add(&L->session_200, 1);
        else if (st == 303)
            atomic_fetch_add(&L->session_303, 1);
        else if (st == 503)
            atomic_fetch_add(&L->session_503, 1);
        else {
            L->last_bad = st;
            atomic_fetch_add(&L->session_bad, 1);
        }
        ws_sleep_ms(5);
    }
    return NULL;
}

static void
load_start(struct load *L, int port, const char *cookie)
{
    memset(L, 0, sizeof(*L));
    L->port = port;
    L->cookie = cookie;
    assert_int_equal(pthread_create(&L->tid, NULL, load_run, L), 0);
}

static void
load_stop(struct load *L)
{
    atomic_store(&L->stop, true);
    pthread_join(L->tid, NULL);
    print_message("load during the failover: static %d ok / %d bad; "
                  "/welcome %d 200, %d 303, %d 503, %d other\n",
                  atomic_load(&L->static_ok), atomic_load(&L->static_bad),
                  atomic_load(&L->session_200), atomic_load(&L->session_303),
                  atomic_load(&L->session_503),
                  atomic_load(&L->session_bad));
    assert_int_equal(atomic_load(&L->static_bad), 0);
    if (atomic_load(&L->session_bad) != 0)
        fail_msg("session route answered %d (%d such answers)", L->last_bad,
                 atomic_load(&L->session_bad));
    assert_true(atomic_load(&L->static_ok) > 0);
}

/* ---- Failover ---- */

/* Wait until every live sentinel names PORT as the master. */
static void
wait_master(const struct fx *f, int port)
{
    int64_t deadline = ws_now_ms() + FAILOVER_MS;

    for (int i = 0; i < NSENTINELS; i++) {
        while (f->sen[i].pid > 0 && sentinel_master_port(f->sen[i].port) != port) {
            if (ws_now_ms() >= deadline)
                fail_msg("sentinel %d does not name %d as the master within "
                         "%d ms", i, port, FAILOVER_MS);
            ws_sleep_ms(50);
        }
    }
}

/* After a failover from OLD to NEW (OLD running as a replica of NEW): new
 * writes through the server land on NEW, and OLD gets none (no READONLY
 * refusals, no worker connected to it). */
static void
check_writes_go_to(struct fx *f, struct node *old, struct node *new,
                   const char *user)
{
    long long readonly0 = info_number(old->port, "errorstats",
                                      "errorstat_READONLY:count=");
    char cookie[128], token[128], key[192];

    assert_true(readonly0 >= 0);
    assert_true(info_has(old->port, "replication", "role:slave"));
    post_until(f->ws.port, "/register", user, 303);
    login(f->ws.port, user, cookie, sizeof(cookie), token);
    assert_int_equal(status_of(f->ws.port, "GET", "/welcome", cookie, NULL),
                     200);
    snprintf(key, sizeof(key), "user:%s", user);
    assert_true(key_exists(new->port, key));
    snprintf(key, sizeof(key), "session:%s", token);
    assert_true(key_exists(new->port, key));
    assert_int_equal(info_number(old->port, "errorstats",
                                 "errorstat_READONLY:count="), readonly0);
    assert_int_equal(foreign_clients(old->port), 0);
    assert_true(foreign_clients(new->port) > 0);
}

/* Common part: cluster, server (with EXTRA config), a session made with
 * redis_wait_replicas = 1 before the failover. */
static void
before_failover(struct fx *f, const char *extra, char *cookie, size_t len)
{
    char conf[512];

    cluster_start(f);
    snprintf(conf, sizeof(conf), "redis_wait_replicas = 1\n%s",
             extra != NULL ? extra : "");
    server_start(f, NULL, conf);
    post_until(f->ws.port, "/register", "alice", 303);
    login(f->ws.port, "alice", cookie, len, NULL);
    welcome_until_ok(f->ws.port, cookie, 10);
    /* the durable writes were acknowledged by the replica */
    assert_false(ws_file_contains(f->ws.error_log, "redis WAIT:"));
}

/* SENTINEL FAILOVER: the old master stays up and is demoted by Sentinel. */
static void
test_sentinel_failover_command(void **state)
{
    struct fx *f = *state;
    char cookie[128];
    struct load L;
    struct redis_reply rep;
    int m;

    before_failover(f, NULL, cookie, sizeof(cookie));
    load_start(&L, f->ws.port, cookie);
    assert_int_equal(redis_query(f->sen[0].port, NULL, &rep, "SENTINEL",
                                 "FAILOVER", MASTER_NAME, NULL), 0);
    if (rep.type != '+')
        fail_msg("SENTINEL FAILOVER: %s", rep.str ? rep.str : "?");
    redis_reply_free(&rep);
    wait_master(f, f->red[1].port);
    /* the old master is a replica of the new one */
    m = wait_settled_any(f);
    welcome_until_ok(f->ws.port, cookie, 20);
    load_stop(&L);

    /* nothing goes to the old master */
    check_writes_go_to(f, &f->red[1 - m], &f->red[m], "bob");
    welcome_until_ok(f->ws.port, cookie, 10);
    assert_true(ws_file_contains(f->ws.error_log, "redis master " MASTER_NAME
                                 " moved from"));
    f->ws.passed = true;
}

/* SIGKILL of the master. The reconnect backoff is 10 min, so the workers
 * can only be back in time through +switch-master. The old master comes
 * back as a replica of the new one and is not written to. */
static void
test_sentinel_failover_kill(void **state)
{
    struct fx *f = *state;
    char cookie[128];
    struct load L;
    int m;

    before_failover(f, "redis_reconnect_min = 10m\n"
                       "redis_reconnect_max = 10m\n", cookie, sizeof(cookie));
    load_start(&L, f->ws.port, cookie);
    node_stop(&f->red[0], SIGKILL);
    wait_master(f, f->red[1].port);
    welcome_until_ok(f->ws.port, cookie, 20);
    load_stop(&L);
    assert_true(ws_file_contains(f->ws.error_log, "(+switch-master)"));

    /* the old master comes back, as a replica of the new one */
    redis_node_start(&f->red[0], f->red[1].port);
    m = wait_settled_any(f);
    check_writes_go_to(f, &f->red[1 - m], &f->red[m], "carol");
    welcome_until_ok(f->ws.port, cookie, 10);
    f->ws.passed = true;
}

/* Subscribers of +switch-master on the sentinel on PORT (-1: no answer).
 * Sentinel has no PUBSUB command; its pub/sub clients are ours alone. */
static int
switch_subscribers(int port)
{
    struct redis_reply rep;
    int n = -1;

    if (redis_query(port, NULL, &rep, "CLIENT", "LIST", "TYPE", "pubsub",
                    NULL) == 0 && rep.str != NULL) {
        n = 0;
        for (char *p = rep.str; (p = strstr(p, " sub=1 ")) != NULL; p++)
            n++;
    }
    redis_reply_free(&rep);
    return n;
}

/* Wait until the sentinels FROM..NSENTINELS-1 have WANT subscribers of
 * +switch-master together. */
static void
wait_subscribers(const struct fx *f, int from, int want)
{
    int64_t deadline = ws_now_ms() + FAILOVER_MS;
    int n;

    for (;;) {
        n = 0;
        for (int i = from; i < NSENTINELS; i++) {
            int k = switch_subscribers(f->sen[i].port);
            n += k > 0 ? k : 0;
        }
        if (n == want)
            return;
        if (ws_now_ms() >= deadline)
            fail_msg("%d +switch-master subscribers on sentinels %d.., want "
                     "%d", n, from, want);
        ws_sleep_ms(50);
    }
}

/* The sentinel the workers subscribed to (the first) stops; they subscribe
 * to another, so a SIGKILL failover afterwards still reaches them through
 * +switch-master (the backoff is 10 min). */
static void
test_sentinel_resubscribe(void **state)
{
    struct fx *f = *state;
    char cookie[128];

    before_failover(f, "redis_reconnect_min = 10m\n"
                       "redis_reconnect_max = 10m\n", cookie, sizeof(cookie));
    wait_subscribers(f, 0, 2);      /* both workers, on the first */
    assert_int_equal(switch_subscribers(f->sen[0].port), 2);
    node_stop(&f->sen[0], SIGTERM);
    wait_subscribers(f, 1, 2);

    node_stop(&f->red[0], SIGKILL);
    wait_master(f, f->red[1].port);
    welcome_until_ok(f->ws.port, cookie, 20);
    assert_true(ws_file_contains(f->ws.error_log, "(+switch-master)"));
    f->ws.passed = true;
}

/* ---- READONLY: a sentinel that stays silent (struct fake_sentinel) ---- */

/* One complete RESP array command in BUF[0..LEN): its arguments into
 * ARGV/ARGL (at most 8) and the bytes it took. 0: incomplete; -1: bad. */
static int
fake_parse(const char *buf, size_t len, const char **argv, size_t *argl,
           int *argc, size_t *used)
{
    const char *p = buf, *end = buf + len, *nl;
    long n, k;

    if (len == 0)
        return 0;
    if (*p != '*')
        return -1;
    if ((nl = memchr(p, '\n', (size_t) (end - p))) == NULL)
        return 0;
    n = strtol(p + 1, NULL, 10);
    if (n < 1 || n > 8)
        return -1;
    p = nl + 1;
    for (k = 0; k < n; k++) {
        long l;
        if (p >= end)
            return 0;
        if (*p != '$')
            return -1;
        if ((nl = memchr(p, '\n', (size_t) (end - p))) == NULL)
            return 0;
        l = strtol(p + 1, NULL, 10);
        if (l < 0 || l > 1024)
            return -1;
        p = nl + 1;
        if (end - p < l + 2)
            return 0;
        argv[k] = p;
        argl[k] = (size_t) l;
        p += l + 2;
    }
    *argc = (int) n;
    *used = (size_t) (p - buf);
    return 1;
}

static bool
arg_is(const char *a, size_t l, const char *word)
{
    return l == strlen(word) && strncasecmp(a, word, l) == 0;
}

static void
fake_answer(struct fake_sentinel *fs, int fd, int argc, const char **argv,
            const size_t *argl)
{
    char out[256], port[16];
    int n;

    if (argc == 3 && arg_is(argv[0], argl[0], "SENTINEL")
        && arg_is(argv[1], argl[1], "get-master-addr-by-name")) {
        atomic_fetch_add(&fs->asked, 1);
        n = snprintf(port, sizeof(port), "%d", atomic_load(&fs->master));
        n = snprintf(out, sizeof(out), "*2\r\n$9\r\n127.0.0.1\r\n$%d\r\n%s\r\n",
                     n, port);
    } else if (argc == 2 && arg_is(argv[0], argl[0], "SUBSCRIBE")) {
        n = snprintf(out, sizeof(out), "*3\r\n$9\r\nsubscribe\r\n$%zu\r\n%.*s"
                     "\r\n:1\r\n", argl[1], (int) argl[1], argv[1]);
    } else if (argc == 1 && arg_is(argv[0], argl[0], "PING")) {
        n = snprintf(out, sizeof(out), "+PONG\r\n");
    } else {
        n = snprintf(out, sizeof(out), "-ERR not here\r\n");
    }
    if (send(fd, out, (size_t) n, MSG_NOSIGNAL) < 0) {
        /* the client went away; its EOF closes it */
    }
}

static void *
fake_run(void *arg)
{
    struct fake_sentinel *fs = arg;
    struct pollfd pf[FAKE_CONNS + 1];
    char buf[FAKE_CONNS][2048];
    size_t have[FAKE_CONNS];
    int nc = 0;

    while (!atomic_load(&fs->stop)) {
        pf[0].fd = fs->lfd;
        pf[0].events = POLLIN;
        for (int i = 0; i < nc; i++)
            pf[i + 1].events = POLLIN;
        if (poll(pf, (nfds_t) nc + 1, 50) <= 0)
            continue;
        for (int i = nc - 1; i >= 0; i--) {
            const char *av[8];
            size_t al[8], used;
            int ac, rc;
            ssize_t r;

            if (!(pf[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            r = recv(pf[i + 1].fd, buf[i] + have[i],
                     sizeof(buf[i]) - have[i], 0);
            if (r > 0)
                have[i] += (size_t) r;
            while (r > 0 && (rc = fake_parse(buf[i], have[i], av, al, &ac,
                                             &used)) == 1) {
                fake_answer(fs, pf[i + 1].fd, ac, av, al);
                memmove(buf[i], buf[i] + used, have[i] - used);
                have[i] -= used;
            }
            if (r <= 0 || rc == -1 || have[i] == sizeof(buf[i])) {
                close(pf[i + 1].fd);
                nc--;
                pf[i + 1] = pf[nc + 1];
                memcpy(buf[i], buf[nc], have[nc]);
                have[i] = have[nc];
            }
        }
        if (pf[0].revents & POLLIN) {
            int fd = accept4(fs->lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0 && nc == FAKE_CONNS) {
                close(fd);
            } else if (fd >= 0) {
                pf[nc + 1].fd = fd;
                have[nc] = 0;
                nc++;
            }
        }
    }
    for (int i = 0; i < nc; i++)
        close(pf[i + 1].fd);
    return NULL;
}

static void
fake_start(struct fake_sentinel *fs, int master)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t salen = sizeof(sa);

    memset(fs, 0, sizeof(*fs));
    atomic_store(&fs->master, master);
    fs->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fs->lfd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fs->lfd, (struct sockaddr *) &sa, sizeof(sa)), 0);
    assert_int_equal(listen(fs->lfd, 16), 0);
    assert_int_equal(getsockname(fs->lfd, (struct sockaddr *) &sa, &salen), 0);
    fs->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&fs->tid, NULL, fake_run, fs), 0);
    fs->running = true;
}

static void
fake_stop(struct fake_sentinel *fs)
{
    if (!fs->running)
        return;
    fs->running = false;
    atomic_store(&fs->stop, true);
    pthread_join(fs->tid, NULL);
    close(fs->lfd);
}

/* The master on red[0] becomes a replica of red[1] by REPLICAOF, which
 * keeps its clients connected, and no +switch-master comes (backoff 10
 * min): logins work again only because the READONLY reply to the session
 * write makes the worker ask the sentinel again; ROLE keeps it off the
 * old master meanwhile. Afterwards the old master gets no writes. */
static void
test_sentinel_readonly(void **state)
{
    struct fx *f = *state;
    struct fake_sentinel *fs = &g_fake;
    struct redis_reply rep;
    char conf[256], first[64], cookie[128], port[16];
    long long readonly0;

    node_init(&f->red[0], f->ws.dir, "redis-a", 0);
    node_init(&f->red[1], f->ws.dir, "redis-b", 0);
    redis_node_start(&f->red[0], 0);
    redis_node_start(&f->red[1], f->red[0].port);
    wait_link(f->red[1].port, f->red[0].port);
    fake_start(fs, f->red[0].port);
    /* the fixture's sentinels are never started: no entries but ours */
    snprintf(first, sizeof(first), "127.0.0.1:%d", fs->port);
    snprintf(conf, sizeof(conf), "redis_wait_replicas = 1\n"
             "redis_reconnect_min = 10m\n"
             "redis_reconnect_max = 10m\n");
    for (int i = 0; i < NSENTINELS; i++)
        f->sen[i].port = fs->port;
    server_start(f, first, conf);
    post_until(f->ws.port, "/register", "gina", 303);
    login(f->ws.port, "gina", cookie, sizeof(cookie), NULL);
    welcome_until_ok(f->ws.port, cookie, 10);
    assert_true(foreign_clients(f->red[0].port) > 0);
    /* WAIT made sure the replica has the account */
    assert_true(key_exists(f->red[1].port, "user:gina"));

    /* swap the roles behind the workers' backs */
    assert_int_equal(redis_query(f->red[1].port, NULL, &rep, "REPLICAOF",
                                 "NO", "ONE", NULL), 0);
    redis_reply_free(&rep);
    snprintf(port, sizeof(port), "%d", f->red[1].port);
    assert_int_equal(redis_query(f->red[0].port, NULL, &rep, "REPLICAOF",
                                 "127.0.0.1", port, NULL), 0);
    redis_reply_free(&rep);
    atomic_store(&fs->master, f->red[1].port);
    wait_link(f->red[0].port, f->red[1].port);

    /* logins: 503 until each worker met READONLY, then 303 */
    login(f->ws.port, "gina", cookie, sizeof(cookie), NULL);
    welcome_until_ok(f->ws.port, cookie, 10);
    for (int i = 0; i < 10; i++)
        login(f->ws.port, "gina", cookie, sizeof(cookie), NULL);
    assert_true(ws_file_contains(f->ws.error_log, "(READONLY)"));

    /* from now on nothing goes to the old master */
    readonly0 = info_number(f->red[0].port, "errorstats",
                            "errorstat_READONLY:count=");
    for (int i = 0; i < 10; i++)
        login(f->ws.port, "gina", cookie, sizeof(cookie), NULL);
    assert_int_equal(info_number(f->red[0].port, "errorstats",
                                 "errorstat_READONLY:count="), readonly0);
    assert_int_equal(foreign_clients(f->red[0].port), 0);
    fake_stop(fs);
    f->ws.passed = true;
}

/* ---- The sentinel list ---- */

/* The first entry is a port nothing listens on, the second a name
 * (looked up off the loop): the worker asks on and works; once no
 * sentinel answers and the connection to the master is gone, session
 * routes answer 503 with Retry-After and static files 200. */
static void
test_sentinel_first_dead(void **state)
{
    struct fx *f = *state;
    char first[64], cookie[128];
    struct redis_reply rep;
    int64_t deadline;

    cluster_start(f);
    snprintf(first, sizeof(first), "127.0.0.1:%d localhost:%d",
             ws_free_port(), f->sen[0].port);
    server_start(f, first, NULL);
    post_until(f->ws.port, "/register", "dave", 303);
    login(f->ws.port, "dave", cookie, sizeof(cookie), NULL);
    welcome_until_ok(f->ws.port, cookie, 10);
    assert_true(ws_file_contains(f->ws.error_log, "redis master " MASTER_NAME
                                 " is 127.0.0.1:"));

    /* no sentinel left; the master itself is fine, but the workers must
     * ask again once their connections are gone */
    for (int i = 0; i < NSENTINELS; i++)
        node_stop(&f->sen[i], SIGTERM);
    assert_int_equal(redis_query(f->red[0].port, NULL, &rep, "CLIENT",
                                 "KILL", "TYPE", "normal", NULL), 0);
    redis_reply_free(&rep);
    deadline = ws_now_ms() + FAILOVER_MS;
    for (int n503 = 0; n503 < 10;) {
        char body[128];
        int st;

        user_form(body, sizeof(body), "dave");
        st = status_of(f->ws.port, "POST", "/login", NULL, body);
        if (st == 503)
            n503++;
        else if (st == 303)
            n503 = 0;       /* a worker that did not notice yet */
        else
            fail_msg("POST /login: status %d, want 503 with Retry-After", st);
        assert_int_equal(status_of(f->ws.port, "GET", "/index.html", NULL,
                                   NULL), 200);
        if (ws_now_ms() >= deadline)
            fail_msg("login still works %d ms after the sentinels stopped",
                     FAILOVER_MS);
        ws_sleep_ms(20);
    }
    assert_true(ws_file_contains(f->ws.error_log, "no master known"));
    f->ws.passed = true;
}

/* No sentinel answers from the start: 503 with Retry-After on /login and
 * /register, static files fine. */
static void
test_sentinel_all_dead(void **state)
{
    struct fx *f = *state;
    char list[128], body[128];

    /* the fixture's sentinels are never started: their ports are free */
    for (int i = 0; i < NSENTINELS; i++)
        f->sen[i].port = ws_free_port();
    snprintf(list, sizeof(list), "localhost:%d", ws_free_port());
    server_start(f, list, NULL);
    user_form(body, sizeof(body), "erin");
    for (int i = 0; i < 10; i++) {
        assert_int_equal(status_of(f->ws.port, "POST", "/login", NULL, body),
                         503);
        assert_int_equal(status_of(f->ws.port, "POST", "/register", NULL,
                                   body), 503);
        assert_int_equal(status_of(f->ws.port, "GET", "/index.html", NULL,
                                   NULL), 200);
    }
    assert_true(ws_wait_file_contains(f->ws.error_log, "no master known",
                                      WS_WAIT_MS));
    f->ws.passed = true;
}

/* ---- WAIT ---- */

/* redis_wait_replicas = 1 with the replica stopped: login still succeeds
 * (after WAIT's redis_timeout), and the shortfall is logged. */
static void
test_sentinel_wait_short(void **state)
{
    struct fx *f = *state;
    char cookie[128];

    cluster_start(f);
    server_start(f, NULL, "redis_wait_replicas = 1\n");
    post_until(f->ws.port, "/register", "frank", 303);
    login(f->ws.port, "frank", cookie, sizeof(cookie), NULL);
    assert_false(ws_file_contains(f->ws.error_log, "redis WAIT:"));
    /* WAIT went to the master with each durable write */
    assert_true(info_number(f->red[0].port, "commandstats",
                            "cmdstat_wait:calls=") >= 2);

    node_stop(&f->red[1], SIGTERM);
    login(f->ws.port, "frank", cookie, sizeof(cookie), NULL);
    assert_int_equal(status_of(f->ws.port, "GET", "/welcome", cookie, NULL),
                     200);
    assert_true(ws_wait_file_contains(f->ws.error_log,
                                      "redis WAIT: 0 of 1 replicas",
                                      WS_WAIT_MS));
    f->ws.passed = true;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sentinel_failover_command,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_sentinel_failover_kill,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_sentinel_resubscribe,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_sentinel_readonly,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_sentinel_first_dead,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_sentinel_all_dead,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_sentinel_wait_short,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
