/* harness.h - integration-test helpers: temp dirs, the real binary, process
 * inspection through /proc, a raw HTTP/1.1 client and a private redis-server.
 * Plain C + POSIX, no cmocka inside: functions return 0 / -1 (or a count) and
 * say why on stderr ("harness: ..."), so a test asserts on the result and the
 * reason shows up in the ctest log. Every wait is bounded; only pids that the
 * harness started are ever signalled. Single-threaded except the HTTP client,
 * which may be used from several threads on different connections.
 * SPDX-License-Identifier: MIT */
#ifndef TESTS_INTEGRATION_HARNESS_H
#define TESTS_INTEGRATION_HARNESS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define WS_PATH_MAX      512
#define WS_DIR_MAX       128     /* temp dirs are short: /tmp/ws-itest-XXXXXX */
#define WS_MAX_PROCS     256
#define WS_READY_MS      10000   /* start: port file + connect */
#define WS_STOP_MS       5000    /* stop: SIGTERM, then SIGKILL */
#define WS_IO_TIMEOUT_S  10      /* SO_RCVTIMEO / SO_SNDTIMEO of clients */
#define WS_WAIT_MS       20000   /* deadline of a wait on a condition: it
                                  * only bounds a hang, never a speed */
#define WS_EXIT_SKIP     77      /* exit code of a test program that could
                                  * not run here (ctest SKIP_RETURN_CODE) */

/* ---- Time ---- */

/* Monotonic milliseconds. */
int64_t ws_now_ms(void);
void ws_sleep_ms(int ms);

/* ---- Temp dirs and files ---- */

/* mkdtemp("/tmp/ws-itest-XXXXXX") into OUT. Returns 0 or -1. */
int ws_tmpdir_create(char *out, size_t len);

/* rm -rf PATH (refuses anything outside /tmp/). Returns 0 or -1. */
int ws_rmtree(const char *path);

/* mkdir -p PATH. Returns 0 or -1. */
int ws_mkdirs(const char *path);

/* Create PATH (and its parent dirs) holding exactly LEN bytes of DATA. */
int ws_write_file(const char *path, const void *data, size_t len);
int ws_write_text(const char *path, const char *text);

/* Fill BUF with LEN pseudo-random bytes derived from SEED (xorshift64*), so a
 * test can regenerate the expected content of ws_write_random_file(). */
void ws_random_fill(void *buf, size_t len, uint64_t seed);
int ws_write_random_file(const char *path, size_t len, uint64_t seed);

/* A sparse file of SIZE bytes (all zeros) via ftruncate. */
int ws_write_sparse_file(const char *path, off_t size);

/* Whole file, NUL-terminated, malloc'd (caller frees); NULL if unreadable.
 * *LEN (if not NULL) gets the byte count. */
char *ws_read_file(const char *path, size_t *len);

/* true when PATH exists and contains NEEDLE. */
bool ws_file_contains(const char *path, const char *needle);

/* Poll PATH every 20 ms until it contains NEEDLE or TIMEOUT_MS pass. */
bool ws_wait_file_contains(const char *path, const char *needle,
                           int timeout_ms);

/* Poll PATH every 20 ms until it exists or TIMEOUT_MS pass. */
bool ws_wait_exists(const char *path, int timeout_ms);

/* First positive integer in PATH, or -1. */
long ws_read_number(const char *path);

/* ---- Binary and source locations ---- */

/* $WEBSERVER_BIN, else the path compiled in by CMake. */
const char *ws_bin(void);
/* $WEBSERVER_SRC, else the source dir compiled in by CMake. */
const char *ws_src(void);

/* The sanitizer runtime linked into the executable PATH that needs shadow
 * memory or thread control valgrind cannot give it ("AddressSanitizer",
 * "ThreadSanitizer", "MemorySanitizer", "HWAddressSanitizer",
 * "LeakSanitizer"), found by its init symbol or shared library name; NULL
 * when there is none (UBSan alone runs under valgrind) or PATH cannot be
 * read (running it then fails and says why). */
const char *ws_bin_sanitizer(const char *path);

/* ---- The server under test ---- */

struct ws_server {
    char  dir[WS_DIR_MAX];         /* temp dir, removed by ws_cleanup() */
    char  root[WS_PATH_MAX];       /* DIR/root, the document root */
    char  conf[WS_PATH_MAX];       /* DIR/webserver.conf */
    char  port_file[WS_PATH_MAX];  /* DIR/port */
    char  error_log[WS_PATH_MAX];  /* DIR/error.log */
    char  stderr_log[WS_PATH_MAX]; /* DIR/stderr.log: the master's fd 1 and 2 */
    char  pid_file[WS_PATH_MAX];   /* DIR/webserver.pid (only if the test
                                    * puts "pid_file = ..." in its config) */
    pid_t pid;                     /* master, 0 when none */
    bool  is_child;                /* pid is our child: waitpid() works */
    bool  running;                 /* not yet seen to exit */
    int   status;                  /* waitpid() status once reaped */
    int   port;                    /* bound port once ready */
    bool  passed;                  /* set by the test at its end; otherwise
                                    * ws_cleanup() prints the server logs */
};

/* Create the temp dir and DIR/root. Returns 0 or -1. Also ignores SIGPIPE. */
int ws_init(struct ws_server *ws);

/* Write DIR/webserver.conf: TEXT first (so its line numbers are the file's),
 * then "port = 0", "port_file = DIR/port", "error_log = DIR/error.log" and
 * "root = DIR/root" for each of those keys that TEXT does not set. */
int ws_write_config(struct ws_server *ws, const char *text);

/* Fork/exec the binary with ARGS (NULL-terminated, without argv[0]; NULL
 * means { "-c", ws->conf }), stdout+stderr appended to DIR/stderr.log, then
 * ws_wait_ready(). The master gets PR_SET_PDEATHSIG=SIGKILL so a crashed
 * test leaves nothing behind. Returns 0, or -1 (and reaps the master). */
int ws_start(struct ws_server *ws, const char *const *args);

/* ws_start() with the command PREFIX (NULL-terminated, e.g. valgrind and
 * its options) before the binary, waiting at most READY_MS for it. */
int ws_start_wrapped(struct ws_server *ws, const char *const *prefix,
                     const char *const *args, int ready_ms);

/* Fork and exec ARGV[0] (a path) with stdout and stderr appended to LOG,
 * stdin /dev/null, SIGKILL when the test dies (redis-server, sentinels,
 * haproxy). Returns the pid (the caller stops it) or -1. */
pid_t ws_spawn_logged(char *const argv[], const char *log);

/* The start of ws_start_wrapped() alone: fork/exec (PREFIX and ARGS as
 * there), port_file removed first, no wait. Returns 0 or -1. */
int ws_spawn(struct ws_server *ws, const char *const *prefix,
             const char *const *args);

/* ws_write_config(TEXT) + ws_start(NULL). */
int ws_start_conf(struct ws_server *ws, const char *text);

/* Poll every 20 ms, at most TIMEOUT_MS, until the port file holds a number
 * and a TCP connect to it succeeds; fails early if the master exits.
 * Sets ws->port. Returns 0 or -1. */
int ws_wait_ready(struct ws_server *ws, int timeout_ms);

/* kill(ws->pid, SIG). Returns 0 or -1. */
int ws_signal(struct ws_server *ws, int sig);

/* Wait at most TIMEOUT_MS for the master to exit. For our child, *STATUS
 * (if not NULL) gets the waitpid() status; for a daemon (not our child) it
 * gets 0. Returns 0 when it exited, -1 on timeout. */
int ws_wait_exit(struct ws_server *ws, int timeout_ms, int *status);

/* SIGTERM, wait up to WS_STOP_MS, then SIGKILL. Workers that were children
 * of the master and outlive it for 3 s more get SIGKILL too. Returns the
 * waitpid() status (0 for a daemon), or -1 if it had to be killed. */
int ws_stop(struct ws_server *ws);

/* ws_stop() if still running, print the logs unless ws->passed, remove the
 * temp dir. Safe to call twice. Returns -1 (after printing it) when the
 * server's stderr.log holds a sanitizer report, so a teardown that returns
 * this fails the test in -DSANITIZE builds; 0 otherwise. */
int ws_cleanup(struct ws_server *ws);

/* Test fixtures (cmocka's setup/teardown signature): a new ws_server,
 * ws_init()ed, in *STATE; and ws_cleanup() + free. Return 0 or -1 (the
 * teardown also when ws_cleanup() found a sanitizer report). */
int ws_fixture_setup(void **state);
int ws_fixture_teardown(void **state);

/* Print the tails of DIR/error.log and DIR/stderr.log to stderr. */
void ws_dump_logs(const struct ws_server *ws);

/* Exit code of a waitpid() status, or 128 + signal, or -1. */
int ws_exit_code(int status);

/* ---- Run the binary to completion (-t, -h, -s, -d ...) ---- */

struct ws_run_result {
    int   status;     /* waitpid() status */
    int   code;       /* ws_exit_code(status) */
    bool  timed_out;  /* killed after TIMEOUT_MS */
    char *out;        /* stdout, NUL-terminated, malloc'd */
    char *err;        /* stderr, NUL-terminated, malloc'd */
};

/* Run the binary with ARGS (NULL-terminated, without argv[0]) in CWD (NULL:
 * inherit), stdin from /dev/null, stdout and stderr captured separately.
 * Killed with SIGKILL after TIMEOUT_MS. Returns 0 when it exited by itself,
 * -1 otherwise. Free with ws_run_result_free(). */
int ws_run(const char *const *args, const char *cwd, int timeout_ms,
           struct ws_run_result *res);
void ws_run_result_free(struct ws_run_result *res);

/* ---- Process inspection (/proc) ---- */

/* Live (non-zombie) direct children of PPID, ascending, at most MAX into
 * OUT. Returns how many, or -1. */
int ws_children(pid_t ppid, pid_t *out, int max);

/* Poll until PPID has exactly N live children (at most TIMEOUT_MS); copies
 * them into OUT (room for WS_MAX_PROCS). Returns the last count seen. */
int ws_wait_children(pid_t ppid, int n, int timeout_ms, pid_t *out);

/* true while PID exists and is not a zombie. */
bool ws_pid_alive(pid_t pid);

/* Poll until none of PIDS[0..N) is alive (at most TIMEOUT_MS).
 * Returns how many are still alive. */
int ws_wait_pids_gone(const pid_t *pids, int n, int timeout_ms);

/* true when PID is in PIDS[0..N). */
bool ws_pid_in(pid_t pid, const pid_t *pids, int n);

/* VmRSS of PID in KiB (from /proc/PID/status), or -1. */
long ws_rss_kb(pid_t pid);

/* Memory and sockets of some worker processes while a test loads them. */
#define WS_WATCH_MAX 16

struct ws_watch {
    int   n;
    pid_t pids[WS_WATCH_MAX];
    long  before_kb[WS_WATCH_MAX];     /* VmRSS at ws_watch_start() */
    long  peak_kb[WS_WATCH_MAX];       /* highest VmRSS seen since */
    int   sock_base[WS_WATCH_MAX];     /* socket count at the start */
    int   sock_peak;                   /* most sockets above the base, all
                                        * processes together */
    int   samples;
};

/* Take the baseline of PIDS[0..N) (N <= WS_WATCH_MAX). Returns 0, or -1
 * when a process cannot be read. */
int ws_watch_start(struct ws_watch *w, const pid_t *pids, int n);

/* Sample every 100 ms: until *SETTLED reaches WANT, then AFTER samples
 * more; gives up waiting for WANT after TIMEOUT_MS (the caller reports
 * what lagged). Asserts nothing, so a test can stop its threads first. */
void ws_watch_sample(struct ws_watch *w, const atomic_int *settled, int want,
                     int after, int timeout_ms);

/* Print before/peak per process and the socket peak to stderr. */
void ws_watch_report(const struct ws_watch *w);

/* Entries of /proc/PID/fd whose link starts with "socket:", or -1. */
int ws_count_sockets(pid_t pid);

/* ---- TCP connections of a port (/proc/net/tcp and tcp6) ---- */

/* Connections the server listening on PORT holds or has yet to accept():
 * sockets of this network namespace with local port PORT in state
 * ESTABLISHED, SYN_RECV or CLOSE_WAIT. Once the server has closed one
 * (FIN_WAIT*, LAST_ACK, TIME_WAIT) or it was reset, it no longer counts;
 * the listener never does. A client that hung up leaves its connection in
 * CLOSE_WAIT until the server closes it. Returns how many, or -1. */
int ws_tcp_server_conns(int port);

/* Poll every 20 ms until ws_tcp_server_conns(PORT) <= MAX, at most
 * TIMEOUT_MS. Returns the last count (-1 on error). */
int ws_wait_tcp_server_conns(int port, int max, int timeout_ms);

/* Connections in the accept queue of the listener on PORT (complete, not
 * yet accept()ed), or -1 when nothing listens there. */
int ws_tcp_accept_queue(int port);

/* Poll every 20 ms until the accept queue of PORT is empty, at most
 * TIMEOUT_MS. Returns the last length (0: the server took them all). */
int ws_wait_accepted(int port, int timeout_ms);

/* ---- HTTP client ---- */

enum {
    HTTP_OK           = 0,
    HTTP_ERR          = -1,  /* timeout, bad framing, truncated response */
    HTTP_CLOSED_EARLY = -2   /* EOF/reset before ANY byte of the response
                              * (or the request could not be sent) */
};

#define HTTP_MAX_HEADERS 64

struct http_header {
    const char *name;             /* both point into http_resp.head */
    const char *value;
};

struct http_resp {
    int    status;
    int    minor;                  /* HTTP/1.<minor> */
    const char *reason;
    struct http_header headers[HTTP_MAX_HEADERS];
    size_t nheaders;
    char  *head;                   /* the head, split in place */
    char  *body;                   /* NUL-terminated, malloc'd */
    size_t body_len;
    bool   keepalive;              /* the connection may be reused */
    bool   eof_framed;             /* body ran to EOF (no length) */
};

struct http_conn {
    int    fd;                     /* -1 when closed */
    int    port;
    char  *buf;                    /* received, not yet consumed */
    size_t len, cap;
    bool   eof;
    unsigned responses;            /* complete responses read on this conn */
    uint64_t rx_total;             /* bytes received on this conn */

    /* Slow reader: at most SLOW_CHUNK bytes, then sleep SLOW_MS. 0 = off. */
    size_t slow_chunk;
    int    slow_ms;
    size_t slow_acc;

    /* Called after every recv() with data (e.g. to signal mid-download). */
    void (*on_progress)(struct http_conn *c, void *arg);
    void  *progress_arg;
};

/* Blocking TCP connect to 127.0.0.1:PORT with SO_RCVTIMEO/SO_SNDTIMEO of
 * WS_IO_TIMEOUT_S; RCVBUF > 0 sets SO_RCVBUF before connecting.
 * Returns 0 or -1 (reason in http_strerror()). */
int http_conn_open(struct http_conn *c, int port);
int http_conn_open_rcvbuf(struct http_conn *c, int port, int rcvbuf);
/* The same from the local address SRC ("127.0.0.2": any of 127.0.0.0/8
 * works on Linux without setup), for tests of per-client behaviour. */
int http_conn_open_from(struct http_conn *c, int port, const char *src);
void http_conn_close(struct http_conn *c);

/* Send all of DATA. Returns HTTP_OK, HTTP_CLOSED_EARLY (EPIPE, ECONNRESET)
 * or HTTP_ERR. */
int http_send(struct http_conn *c, const void *data, size_t len);

/* "METHOD PATH HTTP/1.1\r\nHost: 127.0.0.1:PORT\r\n" EXTRA "\r\n".
 * EXTRA (may be NULL) holds whole header lines ending in "\r\n". */
int http_send_request(struct http_conn *c, const char *method,
                      const char *path, const char *extra);

/* Read one response (1xx interim responses are skipped). HEAD_REQUEST says
 * the request was HEAD (no body). Framing: none for HEAD/1xx/204/304, else
 * chunked, else Content-Length, else read to EOF. Returns HTTP_OK,
 * HTTP_CLOSED_EARLY or HTTP_ERR; on error R holds nothing to free. */
int http_read_response(struct http_conn *c, bool head_request,
                       struct http_resp *r);

/* http_send_request() + http_read_response(). */
int http_request(struct http_conn *c, const char *method, const char *path,
                 const char *extra, struct http_resp *r);

/* One-shot GET with "Connection: close" on a new connection. */
int http_get(int port, const char *path, struct http_resp *r);

/* METHOD PATH on a new connection from SRC (NULL: the default address)
 * with "Connection: close", the header lines HDRS ("Name: v\r\n"..., or
 * NULL) and, unless FORM is NULL, FORM as an x-www-form-urlencoded body.
 * Returns as http_request(); R holds the response on HTTP_OK. Thread-safe. */
int http_request_once(int port, const char *src, const char *method,
                      const char *path, const char *hdrs, const char *form,
                      struct http_resp *r);

/* Case-insensitive header lookup; first match or NULL. */
const char *http_header(const struct http_resp *r, const char *name);

void http_resp_free(struct http_resp *r);

/* Poll FDS[0..N) (N <= 64) until each has something to read (data, EOF or
 * an error), at most TIMEOUT_MS, reading nothing. AT (if not NULL) gets per
 * fd the ws_now_ms() when it was first seen readable, or -1. All fds are
 * watched at once, so AT[i] is close to when FDS[i] became readable even
 * if another one takes longer. Returns how many became readable. */
int ws_wait_readable(const int *fds, int n, int timeout_ms, int64_t *at);

/* Why the last HTTP call of this thread failed. */
const char *http_strerror(void);

/* ---- Private redis-server ---- */

struct redis_server {
    pid_t pid;
    int   port;
    char  dir[WS_DIR_MAX];
    char  log[WS_PATH_MAX];        /* DIR/redis-PORT.log: its stdout+stderr */
};

/* A port that was free a moment ago (bind 127.0.0.1:0, read, close). */
int ws_free_port(void);

/* Start /usr/bin/redis-server (or $REDIS_SERVER) on a free port with
 * --bind 127.0.0.1 --save '' --appendonly no --dir DIR, plus EXTRA (NULL or
 * NULL-terminated, e.g. "--requirepass", "x"); wait (at most 10 s) until it
 * answers PING (+PONG or -NOAUTH). Returns 0 or -1. */
int redis_start(struct redis_server *r, const char *dir,
                const char *const *extra);

/* SIGTERM, wait up to WS_STOP_MS, then SIGKILL. Safe to call twice. */
void redis_stop(struct redis_server *r);

struct redis_reply {
    char   type;        /* '+', '-', ':', '$', '*'; '$' with str NULL = nil */
    long long integer;  /* ':' */
    char  *str;         /* '+', '-', '$': NUL-terminated, malloc'd */
    size_t len;
    struct redis_reply *elem;   /* '*' */
    size_t nelem;               /* '*'; nil array has type '*', nelem 0,
                                 * integer -1 */
};

/* Connect to 127.0.0.1:PORT with 10 s timeouts. Returns an fd or -1. */
int redis_connect(int port);

/* Send one command (NULL-terminated arguments) as a RESP array and read its
 * reply. Returns 0 or -1. Free REPLY with redis_reply_free(). */
int redis_command(int fd, struct redis_reply *reply, const char *arg, ...);
int redis_commandv(int fd, struct redis_reply *reply, int argc,
                   const char *const *argv);

/* One-shot: connect, AUTH PASSWORD if not NULL, the command, close. */
int redis_query(int port, const char *password, struct redis_reply *reply,
                const char *arg, ...);

void redis_reply_free(struct redis_reply *reply);

/* ---- Fixture: the server and a private Redis ---- */

struct ws_redis_fx {
    struct ws_server    ws;
    struct redis_server rs;     /* started by the test (redis_start()) */
};

/* A new struct ws_redis_fx in *STATE with ws_init()ed; and: stop the
 * server, print the Redis log unless ws.passed, stop Redis, ws_cleanup(),
 * free. Return 0 or -1 (the teardown also on a sanitizer report). */
int ws_redis_fixture_setup(void **state);
int ws_redis_fixture_teardown(void **state);

#endif
