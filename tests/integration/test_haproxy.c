/* test_haproxy.c - several instances behind HAProxy (issue 13): three
 * instances of the real binary with proxy_protocol on, one private
 * redis-server, and Debian's haproxy in front (round robin,
 * send-proxy-v2, "option httpchk" on GET /healthz), all on ports picked
 * here and stopped by pid.
 * - A user registers through instance 1, logs in through instance 2 and
 *   reads /welcome through instance 3, talking PROXY v2 to each directly;
 *   then another does the same through HAProxy from 127.0.0.2, .3 and .4.
 *   The access logs show those addresses (PROXY v2's), never HAProxy's.
 * - A rolling restart (QUIT one instance, start it again, wait until
 *   HAProxy has it up, next) under load, wrk's if installed, else our own
 *   client threads: not one request fails.
 * Without haproxy (run by hand) the program skips (exit 77) and says
 * why; tools/test.sh installs it, so CI runs it. No fixed sleeps: every
 * wait is on a condition with a generous deadline.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "proxy_client.h"

#define NINST        3
#define START_TRIES  5          /* ports picked here may be taken meanwhile */
#define LOAD_THREADS 4

static const char *g_haproxy;   /* the binary */
static const char *g_wrk;       /* NULL: our own load threads */

struct cluster {
    char                dir[WS_DIR_MAX];
    struct redis_server rs;
    struct ws_server    ws[NINST];
    int                 port[NINST];
    char                alog[NINST][WS_PATH_MAX];   /* access logs */
    pid_t               haproxy;
    int                 hport;
    char                hsock[WS_PATH_MAX];
    char                hlog[WS_PATH_MAX];
    pid_t               wrk;
    char                wrk_out[WS_PATH_MAX];
    bool                passed;
};

/* ---- Processes ---- */

/* SIG to PID, then wait at most TIMEOUT_MS for it, then SIGKILL. */
static void
stop_pid(pid_t *pid, int sig, int timeout_ms)
{
    int64_t deadline = ws_now_ms() + timeout_ms;
    int status;

    if (*pid <= 0)
        return;
    kill(*pid, sig);
    while (waitpid(*pid, &status, WNOHANG) == 0) {
        if (ws_now_ms() >= deadline) {
            kill(*pid, SIGKILL);
            waitpid(*pid, &status, 0);
            break;
        }
        ws_sleep_ms(20);
    }
    *pid = 0;
}

static void
dump_file(const char *path)
{
    size_t len;
    char *text = ws_read_file(path, &len);

    if (text != NULL && len > 0)
        fprintf(stderr, "test: --- %s (tail):\n%s\n", path,
                len > 4000 ? text + len - 4000 : text);
    free(text);
}

/* ---- HAProxy ---- */

/* One command on the admin socket; its whole answer (malloc'd) or NULL. */
static char *
haproxy_cmd(const struct cluster *cl, const char *cmd)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    size_t len = 0, cap = 8192;
    char *out = malloc(cap);
    ssize_t n;

    if (fd == -1 || out == NULL) {
        if (fd != -1)
            close(fd);
        free(out);
        return NULL;
    }
    if (strlen(cl->hsock) >= sizeof(sa.sun_path)) {
        close(fd);
        free(out);
        return NULL;
    }
    memcpy(sa.sun_path, cl->hsock, strlen(cl->hsock) + 1);
    if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == -1
        || write(fd, cmd, strlen(cmd)) != (ssize_t) strlen(cmd)) {
        close(fd);
        free(out);
        return NULL;
    }
    while ((n = read(fd, out + len, cap - len - 1)) > 0) {
        len += (size_t) n;
        if (cap - len < 1024) {
            char *more = realloc(out, cap * 2);
            if (more == NULL)
                break;
            out = more;
            cap *= 2;
        }
    }
    close(fd);
    out[len] = '\0';
    return out;
}

/* Is server sI (1-based) of backend "be" UP? */
static bool
haproxy_server_up(const struct cluster *cl, int i)
{
    char *stat = haproxy_cmd(cl, "show stat\n"), want[16];
    int status_col = -1, col;
    bool up = false;
    char *line, *save = NULL;

    if (stat == NULL)
        return false;
    snprintf(want, sizeof(want), "be,s%d,", i);
    for (line = strtok_r(stat, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') {
            /* the header names the columns */
            char *f = line + 2, *fs = NULL, *tok;
            col = 0;
            for (tok = strtok_r(f, ",", &fs); tok != NULL;
                 tok = strtok_r(NULL, ",", &fs), col++) {
                if (strcmp(tok, "status") == 0)
                    status_col = col;
            }
            continue;
        }
        if (status_col >= 0 && strncmp(line, want, strlen(want)) == 0) {
            const char *p = line;
            for (col = 0; col < status_col && p != NULL; col++) {
                p = strchr(p, ',');
                if (p != NULL)
                    p++;
            }
            up = p != NULL && strncmp(p, "UP", 2) == 0;
        }
    }
    free(stat);
    return up;
}

static bool
wait_server_up(const struct cluster *cl, int i, int timeout_ms)
{
    int64_t deadline = ws_now_ms() + timeout_ms;

    while (!haproxy_server_up(cl, i)) {
        if (ws_now_ms() >= deadline) {
            fprintf(stderr, "test: haproxy does not have s%d up\n", i);
            return false;
        }
        ws_sleep_ms(20);
    }
    return true;
}

/* Write the configuration for frontend port HPORT. */
static int
haproxy_write_config(const struct cluster *cl, const char *path)
{
    char text[4096];
    int n;

    n = snprintf(text, sizeof(text),
        "global\n"
        "    maxconn 2000\n"
        "    stats socket %s mode 600 level admin\n"
        "    log stdout format raw local0 info\n"
        "defaults\n"
        "    mode http\n"
        "    log global\n"
        "    option httplog\n"
        "    timeout connect 2s\n"
        "    timeout client 60s\n"
        "    timeout server 60s\n"
        "    timeout http-keep-alive 5s\n"
        "    timeout check 5s\n"
        /* a refused connect (an instance between QUIT and its restart)
         * and a connection closed before any answer (an idle keep-alive
         * connection a draining worker closes while a request is on its
         * way) are tried again on another instance */
        "    retries 3\n"
        "    option redispatch 1\n"
        "    retry-on conn-failure empty-response\n"
        "frontend fe\n"
        "    bind 127.0.0.1:%d\n"
        "    default_backend be\n"
        "backend be\n"
        "    balance roundrobin\n"
        "    option httpchk\n"
        "    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host lb\n"
        "    http-check expect status 200\n"
        "    default-server check inter 200ms fall 1 rise 1 send-proxy-v2\n"
        "    server s1 127.0.0.1:%d\n"
        "    server s2 127.0.0.1:%d\n"
        "    server s3 127.0.0.1:%d\n",
        cl->hsock, cl->hport, cl->port[0], cl->port[1], cl->port[2]);
    if (n <= 0 || (size_t) n >= sizeof(text))
        return -1;
    return ws_write_text(path, text);
}

/* Start haproxy on a free port and wait until it has all instances up. */
static int
haproxy_start(struct cluster *cl)
{
    char cfg[WS_PATH_MAX + 16];

    snprintf(cfg, sizeof(cfg), "%s/haproxy.cfg", cl->dir);
    snprintf(cl->hsock, sizeof(cl->hsock), "%s/haproxy.sock", cl->dir);
    snprintf(cl->hlog, sizeof(cl->hlog), "%s/haproxy.log", cl->dir);
    for (int tries = 0; tries < START_TRIES; tries++) {
        char *argv[] = { (char *) g_haproxy, "-db", "-f", cfg, NULL };
        int64_t deadline = ws_now_ms() + WS_WAIT_MS;
        int status;

        cl->hport = ws_free_port();
        if (cl->hport <= 0 || haproxy_write_config(cl, cfg) != 0)
            return -1;
        cl->haproxy = ws_spawn_logged(argv, cl->hlog);
        if (cl->haproxy == -1)
            return -1;
        for (;;) {
            if (waitpid(cl->haproxy, &status, WNOHANG) == cl->haproxy) {
                fprintf(stderr, "test: haproxy exited (code %d); trying "
                        "another port\n", ws_exit_code(status));
                dump_file(cl->hlog);
                cl->haproxy = 0;
                break;
            }
            if (haproxy_server_up(cl, 1) && haproxy_server_up(cl, 2)
                && haproxy_server_up(cl, 3))
                return 0;
            if (ws_now_ms() >= deadline) {
                fprintf(stderr, "test: haproxy not ready with 3 servers up\n");
                dump_file(cl->hlog);
                return -1;
            }
            ws_sleep_ms(20);
        }
    }
    return -1;
}

/* ---- Instances ---- */

/* Instance I on a port picked here (it must be known to haproxy before
 * haproxy starts, and stay the same across a restart). */
static int
instance_start(struct cluster *cl, int i)
{
    for (int tries = 0; tries < START_TRIES; tries++) {
        char conf[4 * WS_PATH_MAX];

        cl->port[i] = ws_free_port();
        snprintf(conf, sizeof(conf),
                 "processes = 1\nport = %d\nproxy_protocol = on\n"
                 "redis_port = %d\naccess_log = %s\nlog_level = info\n",
                 cl->port[i], cl->rs.port, cl->alog[i]);
        if (ws_start_conf(&cl->ws[i], conf) == 0)
            return 0;
    }
    return -1;
}

static int
setup(void **state)
{
    struct cluster *cl = calloc(1, sizeof(*cl));

    if (cl == NULL || ws_tmpdir_create(cl->dir, sizeof(cl->dir)) == -1) {
        free(cl);
        return -1;
    }
    *state = cl;
    if (redis_start(&cl->rs, cl->dir, NULL) == -1)
        return -1;
    for (int i = 0; i < NINST; i++) {
        char page[WS_PATH_MAX + 32];
        if (ws_init(&cl->ws[i]) == -1)
            return -1;
        snprintf(cl->alog[i], sizeof(cl->alog[i]), "%s/access.log",
                 cl->ws[i].dir);
        snprintf(page, sizeof(page), "%s/page.html", cl->ws[i].root);
        if (ws_write_text(page, "instance page\n") == -1)
            return -1;
        snprintf(page, sizeof(page), "%s/login.html", cl->ws[i].root);
        if (ws_write_text(page, "login page\n") == -1
            || instance_start(cl, i) == -1)
            return -1;
    }
    return haproxy_start(cl);
}

static int
teardown(void **state)
{
    struct cluster *cl = *state;
    int rc = 0;

    if (cl == NULL)
        return 0;
    stop_pid(&cl->wrk, SIGKILL, WS_STOP_MS);
    if (!cl->passed && cl->haproxy > 0)
        dump_file(cl->hlog);
    stop_pid(&cl->haproxy, SIGTERM, WS_STOP_MS);
    for (int i = 0; i < NINST; i++) {
        if (!cl->passed && cl->alog[i][0] != '\0')
            dump_file(cl->alog[i]);
        cl->ws[i].passed = cl->passed;
        if (cl->ws[i].dir[0] != '\0' && ws_cleanup(&cl->ws[i]) == -1)
            rc = -1;
    }
    redis_stop(&cl->rs);
    if (getenv("WS_KEEP_TMP") == NULL)
        ws_rmtree(cl->dir);
    free(cl);
    return rc;
}

/* ---- Requests ---- */

/* Connect to PORT from 127.0.0.1 and, unless PP_SRC is NULL, say PP_SRC
 * in a PROXY v2 header (what HAProxy would). */
static void
open_to(struct http_conn *c, const char *bind_src, int port,
        const char *pp_src)
{
    uint8_t hdr[PC_PROXY_MAX];

    assert_int_equal(pc_connect(c, bind_src, port), 0);
    if (pp_src != NULL) {
        size_t n = pc_proxy_v2(hdr, pp_src, 40000 + port % 20000, port);
        assert_int_equal(http_send(c, hdr, n), HTTP_OK);
    }
}

/* Register USER, log in, read /welcome: each on its own connection, from
 * SRC[k] (bound) to PORT[k], with PP_SRC[k] in a PROXY header when not
 * NULL. */
static void
session_flow(const char *user, const char *const src[3], const int port[3],
             const char *const pp_src[3])
{
    char form[128], cookie[256], want[512];
    struct http_conn c;
    struct http_resp r;

    snprintf(form, sizeof(form), "username=%s&password=%s-password", user,
             user);
    open_to(&c, src[0], port[0], pp_src[0]);
    assert_int_equal(pc_post_form(&c, "/register", form, NULL, NULL, &r),
                     HTTP_OK);
    assert_int_equal(r.status, 303);
    http_resp_free(&r);
    http_conn_close(&c);

    open_to(&c, src[1], port[1], pp_src[1]);
    assert_int_equal(pc_post_form(&c, "/login", form, NULL, NULL, &r),
                     HTTP_OK);
    assert_int_equal(r.status, 303);
    assert_int_equal(pc_cookie(&r, cookie, sizeof(cookie)), 0);
    http_resp_free(&r);
    http_conn_close(&c);

    open_to(&c, src[2], port[2], pp_src[2]);
    snprintf(want, sizeof(want), "Cookie: %s\r\n", cookie);
    assert_int_equal(http_request(&c, "GET", "/welcome", want, &r), HTTP_OK);
    assert_int_equal(r.status, 200);
    snprintf(want, sizeof(want), "Welcome, %s", user);
    assert_non_null(strstr(r.body, want));
    http_resp_free(&r);
    http_conn_close(&c);
}

/* Which instance logged a line from ADDR with NEEDLE (waiting for it), or
 * -1. */
static int
instance_of(const struct cluster *cl, const char *addr, const char *needle)
{
    int64_t deadline = ws_now_ms() + WS_WAIT_MS;

    do {
        for (int i = 0; i < NINST; i++) {
            if (pc_log_wait(cl->alog[i], addr, needle, 0))
                return i;
        }
        ws_sleep_ms(50);
    } while (ws_now_ms() < deadline);
    fprintf(stderr, "test: no instance logged '%s' from %s\n", needle, addr);
    return -1;
}

static void
test_haproxy_sessions_across_instances(void **state)
{
    struct cluster *cl = *state;
    const char *const any[3] = { NULL, NULL, NULL };
    const char *const pp[3] = { "127.0.0.11", "127.0.0.12", "127.0.0.13" };
    const char *const src[3] = { "127.0.0.2", "127.0.0.3", "127.0.0.4" };
    const int hp[3] = { cl->hport, cl->hport, cl->hport };
    int at[3];

    /* directly: instance 1, 2, 3, in PROXY v2 as HAProxy would */
    session_flow("alice", any, cl->port, pp);
    assert_true(pc_log_wait(cl->alog[0], "127.0.0.11", "\"POST /register ",
                            WS_WAIT_MS));
    assert_true(pc_log_wait(cl->alog[1], "127.0.0.12", "\"POST /login ",
                            WS_WAIT_MS));
    assert_true(pc_log_wait(cl->alog[2], "127.0.0.13", "\"GET /welcome ",
                            WS_WAIT_MS));

    /* through HAProxy, from three source addresses: round robin takes the
     * three requests to three instances, which share the session through
     * Redis and log the addresses HAProxy put in PROXY v2 */
    session_flow("bob", src, hp, any);
    at[0] = instance_of(cl, "127.0.0.2", "\"POST /register ");
    at[1] = instance_of(cl, "127.0.0.3", "\"POST /login ");
    at[2] = instance_of(cl, "127.0.0.4", "\"GET /welcome ");
    assert_true(at[0] >= 0 && at[1] >= 0 && at[2] >= 0);
    assert_true(at[0] != at[1] && at[1] != at[2] && at[0] != at[2]);
    /* HAProxy's own address (127.0.0.1) is on its health checks only */
    for (int i = 0; i < NINST; i++) {
        assert_false(pc_log_wait(cl->alog[i], "127.0.0.1", "\"POST /", 0));
        assert_false(pc_log_wait(cl->alog[i], "127.0.0.1", "\"GET /welcome",
                                 0));
        assert_true(pc_log_wait(cl->alog[i], "127.0.0.1", "\"GET /healthz ",
                                WS_WAIT_MS));
    }
    cl->passed = true;
}

/* ---- Load ---- */

struct load {
    int         port;
    atomic_bool stop;
    atomic_long ok;
    atomic_long failed;
};

/* Keep-alive GETs of /page.html until told to stop; a failure is any
 * answer but 200, or a connection that breaks with a request on it. */
static void *
load_thread(void *arg)
{
    struct load *l = arg;
    struct http_conn c;
    bool open = false;

    while (!atomic_load(&l->stop)) {
        struct http_resp r;
        int rc;

        if (!open) {
            if (http_conn_open(&c, l->port) != 0) {
                atomic_fetch_add(&l->failed, 1);
                continue;
            }
            open = true;
        }
        rc = http_request(&c, "GET", "/page.html", NULL, &r);
        if (rc == HTTP_OK && r.status == 200)
            atomic_fetch_add(&l->ok, 1);
        else
            atomic_fetch_add(&l->failed, 1);
        if (rc == HTTP_OK) {
            if (!r.keepalive) {
                http_conn_close(&c);
                open = false;
            }
            http_resp_free(&r);
        } else {
            http_conn_close(&c);
            open = false;
        }
    }
    if (open)
        http_conn_close(&c);
    return NULL;
}

/* Lines of LOG with NEEDLE. */
static int
count_lines(const char *log, const char *needle)
{
    char *text = ws_read_file(log, NULL), *p;
    int n = 0;

    for (p = text; p != NULL && (p = strstr(p, needle)) != NULL; p++)
        n++;
    free(text);
    return n;
}

/* Wait until instance I has served more page requests than BEFORE. */
static bool
wait_served(const struct cluster *cl, int i, int before)
{
    int64_t deadline = ws_now_ms() + WS_WAIT_MS;

    while (count_lines(cl->alog[i], "\"GET /page.html ") <= before) {
        if (ws_now_ms() >= deadline) {
            fprintf(stderr, "test: instance %d serves no load\n", i + 1);
            return false;
        }
        ws_sleep_ms(20);
    }
    return true;
}

static void
test_haproxy_rolling_restart(void **state)
{
    struct cluster *cl = *state;
    struct load l = { .port = cl->hport };
    pthread_t th[LOAD_THREADS];
    char url[64], *out = NULL;

    if (g_wrk != NULL) {
        char *argv[] = { (char *) g_wrk, "-t2", "-c8", "-d600s",
                         "--timeout", "30s", url, NULL };
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/page.html", cl->hport);
        snprintf(cl->wrk_out, sizeof(cl->wrk_out), "%s/wrk.out", cl->dir);
        cl->wrk = ws_spawn_logged(argv, cl->wrk_out);
        assert_true(cl->wrk > 0);
    } else {
        fprintf(stderr, "test: no wrk; loading with %d client threads\n",
                LOAD_THREADS);
        for (int i = 0; i < LOAD_THREADS; i++)
            assert_int_equal(pthread_create(&th[i], NULL, load_thread, &l), 0);
    }
    for (int i = 0; i < NINST; i++)
        assert_true(wait_served(cl, i, 0));

    for (int i = 0; i < NINST; i++) {
        int status, served;

        /* QUIT: the instance stops accepting (HAProxy's connects are
         * refused and retried elsewhere) and finishes what it has */
        assert_int_equal(ws_signal(&cl->ws[i], SIGQUIT), 0);
        assert_int_equal(ws_wait_exit(&cl->ws[i], WS_WAIT_MS, &status), 0);
        assert_int_equal(ws_exit_code(status), 0);
        served = count_lines(cl->alog[i], "\"GET /page.html ");
        assert_int_equal(ws_start(&cl->ws[i], NULL), 0);
        assert_true(wait_server_up(cl, i + 1, WS_WAIT_MS));
        assert_true(wait_served(cl, i, served));
    }

    if (g_wrk != NULL) {
        /* wrk prints its summary when interrupted */
        int status;
        kill(cl->wrk, SIGINT);
        assert_int_equal(waitpid(cl->wrk, &status, 0), cl->wrk);
        cl->wrk = 0;
        out = ws_read_file(cl->wrk_out, NULL);
        assert_non_null(out);
        fprintf(stderr, "test: wrk:\n%s\n", out);
        assert_non_null(strstr(out, " requests in "));
        assert_null(strstr(out, "Socket errors"));
        assert_null(strstr(out, "Non-2xx or 3xx responses"));
        free(out);
    } else {
        atomic_store(&l.stop, true);
        for (int i = 0; i < LOAD_THREADS; i++)
            pthread_join(th[i], NULL);
        fprintf(stderr, "test: %ld requests, %ld failed\n",
                atomic_load(&l.ok), atomic_load(&l.failed));
        assert_true(atomic_load(&l.ok) > 0);
        assert_int_equal(atomic_load(&l.failed), 0);
    }
    cl->passed = true;
}

/* A binary from ENV or the first of PATHS that can be run, or NULL. */
static const char *
find_tool(const char *env, const char *const *paths)
{
    const char *p = getenv(env);

    if (p != NULL && *p != '\0')
        return access(p, X_OK) == 0 ? p : NULL;
    for (; *paths != NULL; paths++) {
        if (access(*paths, X_OK) == 0)
            return *paths;
    }
    return NULL;
}

int
main(void)
{
    static const char *const haproxy_paths[] = {
        "/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy",
        NULL
    };
    static const char *const wrk_paths[] = {
        "/usr/bin/wrk", "/usr/local/bin/wrk", NULL
    };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_haproxy_sessions_across_instances,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_haproxy_rolling_restart,
                                        setup, teardown),
    };

    g_haproxy = find_tool("HAPROXY", haproxy_paths);
    if (g_haproxy == NULL) {
        fprintf(stderr, "test_haproxy: SKIPPED: no haproxy binary (install "
                "the Debian package haproxy, as tools/test.sh does, or set "
                "HAPROXY)\n");
        return WS_EXIT_SKIP;
    }
    g_wrk = find_tool("WRK", wrk_paths);
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
