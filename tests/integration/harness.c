/* harness.c - integration-test helpers (see harness.h for the contracts).
 * Processes: only pids forked here (or read from a pid file the server under
 * test wrote) are ever signalled; every wait polls with a deadline.
 * SPDX-License-Identifier: MIT */
#include "harness.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef WS_DEFAULT_BIN
#define WS_DEFAULT_BIN "build/webserver"
#endif
#ifndef WS_DEFAULT_SRC
#define WS_DEFAULT_SRC "."
#endif

#define POLL_MS 20

static void
ws_say(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("harness: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
}

/* ---- Time ---- */

int64_t
ws_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
ws_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

/* ---- Temp dirs and files ---- */

int
ws_tmpdir_create(char *out, size_t len)
{
    if (snprintf(out, len, "/tmp/ws-itest-XXXXXX") >= (int) len) {
        return -1;
    }
    if (mkdtemp(out) == NULL) {
        ws_say("mkdtemp: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static int
rmtree_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st; (void) flag; (void) ftw;
    if (remove(path) == -1 && errno != ENOENT) {
        ws_say("remove %s: %s", path, strerror(errno));
    }
    return 0;
}

int
ws_rmtree(const char *path)
{
    if (path == NULL || strncmp(path, "/tmp/", 5) != 0 || strstr(path, "..")) {
        ws_say("refusing to remove %s", path ? path : "(null)");
        return -1;
    }
    return nftw(path, rmtree_cb, 32, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

int
ws_mkdirs(const char *path)
{
    char tmp[PATH_MAX];
    char *p;

    if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int) sizeof(tmp)) {
        return -1;
    }
    for (p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) == -1 && errno != EEXIST) {
                return -1;
            }
            *p = '/';
        }
    }
    if (mkdir(tmp, 0755) == -1 && errno != EEXIST) {
        return -1;
    }
    return 0;
}

static int
mkparent(const char *path)
{
    char dir[PATH_MAX];
    char *slash;

    if (snprintf(dir, sizeof(dir), "%s", path) >= (int) sizeof(dir)) {
        return -1;
    }
    slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir) {
        return 0;
    }
    *slash = '\0';
    return ws_mkdirs(dir);
}

int
ws_write_file(const char *path, const void *data, size_t len)
{
    const char *p = data;
    int fd;

    if (mkparent(path) == -1) {
        ws_say("mkdir for %s: %s", path, strerror(errno));
        return -1;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd == -1) {
        ws_say("open %s: %s", path, strerror(errno));
        return -1;
    }
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            ws_say("write %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        p += n;
        len -= (size_t) n;
    }
    return close(fd);
}

int
ws_write_text(const char *path, const char *text)
{
    return ws_write_file(path, text, strlen(text));
}

void
ws_random_fill(void *buf, size_t len, uint64_t seed)
{
    unsigned char *p = buf;
    uint64_t x = seed ? seed : 0x9e3779b97f4a7c15ULL;
    size_t i;

    for (i = 0; i < len; i++) {
        if (i % 8 == 0) {
            x ^= x >> 12;                     /* xorshift64* */
            x ^= x << 25;
            x ^= x >> 27;
        }
        p[i] = (unsigned char) ((x * 0x2545f4914f6cdd1dULL) >> (8 * (i % 8)));
    }
}

int
ws_write_random_file(const char *path, size_t len, uint64_t seed)
{
    char *buf = malloc(len ? len : 1);
    int rc;

    if (buf == NULL) {
        return -1;
    }
    ws_random_fill(buf, len, seed);
    rc = ws_write_file(path, buf, len);
    free(buf);
    return rc;
}

int
ws_write_sparse_file(const char *path, off_t size)
{
    int fd;

    if (mkparent(path) == -1) {
        return -1;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd == -1) {
        ws_say("open %s: %s", path, strerror(errno));
        return -1;
    }
    if (ftruncate(fd, size) == -1) {
        ws_say("ftruncate %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return close(fd);
}

char *
ws_read_file(const char *path, size_t *lenp)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd == -1) {
        return NULL;
    }
    for (;;) {
        ssize_t n;

        if (cap - len < 4096) {
            char *nb = realloc(buf, cap ? cap * 2 : 8192);
            if (nb == NULL) {
                free(buf);
                close(fd);
                return NULL;
            }
            buf = nb;
            cap = cap ? cap * 2 : 8192;
        }
        n = read(fd, buf + len, cap - len - 1);
        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        len += (size_t) n;
    }
    close(fd);
    buf[len] = '\0';
    if (lenp) {
        *lenp = len;
    }
    return buf;
}

bool
ws_file_contains(const char *path, const char *needle)
{
    size_t len;
    char *text = ws_read_file(path, &len);
    bool found;

    if (text == NULL) {
        return false;
    }
    found = memmem(text, len, needle, strlen(needle)) != NULL;
    free(text);
    return found;
}

bool
ws_wait_file_contains(const char *path, const char *needle, int timeout_ms)
{
    int64_t deadline = ws_now_ms() + timeout_ms;

    for (;;) {
        if (ws_file_contains(path, needle)) {
            return true;
        }
        if (ws_now_ms() >= deadline) {
            return false;
        }
        ws_sleep_ms(POLL_MS);
    }
}

bool
ws_wait_exists(const char *path, int timeout_ms)
{
    int64_t deadline = ws_now_ms() + timeout_ms;

    for (;;) {
        if (access(path, F_OK) == 0) {
            return true;
        }
        if (ws_now_ms() >= deadline) {
            return false;
        }
        ws_sleep_ms(POLL_MS);
    }
}

long
ws_read_number(const char *path)
{
    char *text = ws_read_file(path, NULL);
    char *p, *end;
    long v;

    if (text == NULL) {
        return -1;
    }
    for (p = text; *p && !isdigit((unsigned char) *p); p++) {
        if (!isspace((unsigned char) *p)) {
            free(text);
            return -1;
        }
    }
    v = strtol(p, &end, 10);
    if (end == p || v <= 0 || (*end && !isspace((unsigned char) *end))) {
        v = -1;
    }
    free(text);
    return v;
}

/* ---- Binary and source locations ---- */

const char *
ws_bin(void)
{
    const char *s = getenv("WEBSERVER_BIN");
    return s && *s ? s : WS_DEFAULT_BIN;
}

const char *
ws_src(void)
{
    const char *s = getenv("WEBSERVER_SRC");
    return s && *s ? s : WS_DEFAULT_SRC;
}

const char *
ws_bin_sanitizer(const char *path)
{
    /* an instrumented binary calls the init symbol; a dynamically linked
     * runtime also shows as the library name in DT_NEEDED */
    static const struct {
        const char *marker;
        const char *name;
    } runtimes[] = {
        { "__asan_init",   "AddressSanitizer" },
        { "libasan.so",    "AddressSanitizer" },
        { "__tsan_init",   "ThreadSanitizer" },
        { "libtsan.so",    "ThreadSanitizer" },
        { "__msan_init",   "MemorySanitizer" },
        { "__hwasan_init", "HWAddressSanitizer" },
        { "libhwasan.so",  "HWAddressSanitizer" },
        { "__lsan_init",   "LeakSanitizer" },
        { "liblsan.so",    "LeakSanitizer" },
    };
    const char *found = NULL;
    size_t len;
    char *bin = ws_read_file(path, &len);

    if (bin == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < sizeof(runtimes) / sizeof(runtimes[0]); i++) {
        if (memmem(bin, len, runtimes[i].marker,
                   strlen(runtimes[i].marker)) != NULL) {
            found = runtimes[i].name;
            break;
        }
    }
    free(bin);
    return found;
}

/* ---- Spawning ---- */

/* In the child after fork(): close everything above stderr so the server
 * does not inherit the test's sockets (they are CLOEXEC too, belt and
 * braces). Async-signal-safe. */
static void
close_from_3(void)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3U, ~0U, 0) == 0) {
        return;
    }
#endif
    for (int fd = 3; fd < 4096; fd++) {
        close(fd);
    }
}

/* Fork and exec PROG with ARGV. Child: stdin /dev/null, stdout to OUT_FD,
 * stderr to ERR_FD, PDEATHSIG=SIGKILL if PDEATH, chdir(CWD) if set. */
static pid_t
spawn(const char *prog, char *const argv[], const char *cwd, int out_fd,
      int err_fd, bool pdeath)
{
    pid_t parent = getpid();
    pid_t pid = fork();

    if (pid == -1) {
        ws_say("fork: %s", strerror(errno));
        return -1;
    }
    if (pid > 0) {
        return pid;
    }

    if (pdeath) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(127);
        }
    }
    signal(SIGPIPE, SIG_DFL);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
        dup2(devnull, 0);
    }
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    close_from_3();
    if (cwd != NULL && chdir(cwd) == -1) {
        _exit(127);
    }
    execv(prog, argv);
    dprintf(2, "harness: exec %s: %s\n", prog, strerror(errno));
    _exit(127);
}

pid_t
ws_spawn_logged(char *const argv[], const char *log)
{
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    pid_t pid;

    if (fd == -1) {
        ws_say("open %s: %s", log, strerror(errno));
        return -1;
    }
    pid = spawn(argv[0], argv, NULL, fd, fd, true);
    close(fd);
    return pid;
}

/* argv = { PROG, ARGS..., NULL } in a malloc'd array (strings borrowed). */
static char **
make_argv(const char *prog, const char *const *args)
{
    size_t n = 0, i;
    char **argv;

    while (args && args[n]) {
        n++;
    }
    argv = calloc(n + 2, sizeof(*argv));
    if (argv == NULL) {
        return NULL;
    }
    argv[0] = (char *) prog;
    for (i = 0; i < n; i++) {
        argv[i + 1] = (char *) args[i];
    }
    return argv;
}

/* waitpid(PID) polling until TIMEOUT_MS. Returns 1 reaped, 0 timeout,
 * -1 error (e.g. not our child). */
static int
wait_child(pid_t pid, int timeout_ms, int *status)
{
    int64_t deadline = ws_now_ms() + timeout_ms;

    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid) {
            return 1;
        }
        if (r == -1 && errno != EINTR) {
            return -1;
        }
        if (ws_now_ms() >= deadline) {
            return 0;
        }
        ws_sleep_ms(POLL_MS);
    }
}

int
ws_exit_code(int status)
{
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    if (WIFSIGNALED(status)) {
        return 128 + WTERMSIG(status);
    }
    return -1;
}

/* ---- The server under test ---- */

int
ws_init(struct ws_server *ws)
{
    memset(ws, 0, sizeof(*ws));
    signal(SIGPIPE, SIG_IGN);
    if (ws_tmpdir_create(ws->dir, sizeof(ws->dir)) == -1) {
        return -1;
    }
    snprintf(ws->root, sizeof(ws->root), "%s/root", ws->dir);
    snprintf(ws->conf, sizeof(ws->conf), "%s/webserver.conf", ws->dir);
    snprintf(ws->port_file, sizeof(ws->port_file), "%s/port", ws->dir);
    snprintf(ws->error_log, sizeof(ws->error_log), "%s/error.log", ws->dir);
    snprintf(ws->stderr_log, sizeof(ws->stderr_log), "%s/stderr.log", ws->dir);
    snprintf(ws->pid_file, sizeof(ws->pid_file), "%s/webserver.pid", ws->dir);
    return ws_mkdirs(ws->root);
}

/* true when TEXT has a line "KEY =" / "KEY value" (ignoring indentation). */
static bool
conf_sets_key(const char *text, const char *key)
{
    size_t klen = strlen(key);
    const char *p = text;

    while (p && *p) {
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (strncmp(p, key, klen) == 0
            && (p[klen] == ' ' || p[klen] == '\t' || p[klen] == '=')) {
            return true;
        }
        p = strchr(p, '\n');
        if (p) {
            p++;
        }
    }
    return false;
}

int
ws_write_config(struct ws_server *ws, const char *text)
{
    size_t cap = strlen(text) + 4 * WS_PATH_MAX + 256;
    char *conf = malloc(cap);
    size_t len;
    int rc;

    if (conf == NULL) {
        return -1;
    }
    len = (size_t) snprintf(conf, cap, "%s", text);
    if (len > 0 && conf[len - 1] != '\n') {
        len += (size_t) snprintf(conf + len, cap - len, "\n");
    }
    if (!conf_sets_key(text, "port")) {
        len += (size_t) snprintf(conf + len, cap - len, "port = 0\n");
    }
    if (!conf_sets_key(text, "port_file")) {
        len += (size_t) snprintf(conf + len, cap - len, "port_file = %s\n",
                                 ws->port_file);
    }
    if (!conf_sets_key(text, "error_log")) {
        len += (size_t) snprintf(conf + len, cap - len, "error_log = %s\n",
                                 ws->error_log);
    }
    if (!conf_sets_key(text, "root")) {
        len += (size_t) snprintf(conf + len, cap - len, "root = %s\n",
                                 ws->root);
    }
    rc = ws_write_file(ws->conf, conf, len);
    free(conf);
    return rc;
}

int
ws_start(struct ws_server *ws, const char *const *args)
{
    return ws_start_wrapped(ws, NULL, args, WS_READY_MS);
}

int
ws_start_wrapped(struct ws_server *ws, const char *const *prefix,
                 const char *const *args, int ready_ms)
{
    if (ws_spawn(ws, prefix, args) == -1) {
        return -1;
    }
    if (ws_wait_ready(ws, ready_ms) == -1) {
        if (ws->running) {
            ws_stop(ws);
        }
        ws_dump_logs(ws);
        return -1;
    }
    return 0;
}

int
ws_spawn(struct ws_server *ws, const char *const *prefix,
         const char *const *args)
{
    const char *def[] = { "-c", ws->conf, NULL };
    const char *all[64];
    size_t n = 0;
    char **argv;
    int fd;

    if (access(ws_bin(), X_OK) == -1) {
        ws_say("webserver binary %s: %s", ws_bin(), strerror(errno));
        return -1;
    }
    for (size_t i = 0; prefix != NULL && prefix[i] != NULL && n < 32; i++) {
        all[n++] = prefix[i];
    }
    all[n++] = ws_bin();
    if (args == NULL) {
        args = def;
    }
    for (size_t i = 0; args[i] != NULL && n < 63; i++) {
        all[n++] = args[i];
    }
    all[n] = NULL;
    argv = make_argv(all[0], all + 1);
    if (argv == NULL) {
        return -1;
    }
    fd = open(ws->stderr_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
              0644);
    if (fd == -1) {
        ws_say("open %s: %s", ws->stderr_log, strerror(errno));
        free(argv);
        return -1;
    }
    unlink(ws->port_file);

    ws->pid = spawn(argv[0], argv, NULL, fd, fd, true);
    close(fd);
    free(argv);
    if (ws->pid == -1) {
        ws->pid = 0;
        return -1;
    }
    ws->is_child = true;
    ws->running = true;
    ws->status = 0;
    ws->port = 0;
    return 0;
}

int
ws_start_conf(struct ws_server *ws, const char *text)
{
    if (ws_write_config(ws, text) == -1) {
        return -1;
    }
    return ws_start(ws, NULL);
}

static bool
tcp_probe(int port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons((uint16_t) port) };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok;

    if (fd == -1) {
        return false;
    }
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

int
ws_wait_ready(struct ws_server *ws, int timeout_ms)
{
    int64_t deadline = ws_now_ms() + timeout_ms;

    for (;;) {
        long port;

        if (ws->is_child && ws->running) {
            pid_t r = waitpid(ws->pid, &ws->status, WNOHANG);
            if (r == ws->pid) {
                ws->running = false;
                ws_say("master %d exited before ready (code %d)",
                       (int) ws->pid, ws_exit_code(ws->status));
                return -1;
            }
        } else if (!ws->is_child && !ws_pid_alive(ws->pid)) {
            ws_say("master %d is gone before ready", (int) ws->pid);
            ws->running = false;
            return -1;
        }
        port = ws_read_number(ws->port_file);
        if (port > 0 && port < 65536 && tcp_probe((int) port)) {
            ws->port = (int) port;
            return 0;
        }
        if (ws_now_ms() >= deadline) {
            ws_say("server not ready after %d ms (port file %s: %ld)",
                   timeout_ms, ws->port_file, port);
            return -1;
        }
        ws_sleep_ms(POLL_MS);
    }
}

int
ws_signal(struct ws_server *ws, int sig)
{
    if (ws->pid <= 0 || !ws->running) {
        ws_say("signal %d: no running master", sig);
        return -1;
    }
    if (kill(ws->pid, sig) == -1) {
        ws_say("kill(%d, %d): %s", (int) ws->pid, sig, strerror(errno));
        return -1;
    }
    return 0;
}

int
ws_wait_exit(struct ws_server *ws, int timeout_ms, int *status)
{
    int64_t deadline = ws_now_ms() + timeout_ms;

    if (!ws->running) {
        if (status) {
            *status = ws->status;
        }
        return 0;
    }
    if (ws->is_child) {
        int r = wait_child(ws->pid, timeout_ms, &ws->status);
        if (r != 1) {
            return -1;
        }
    } else {
        while (ws_pid_alive(ws->pid)) {
            if (ws_now_ms() >= deadline) {
                return -1;
            }
            ws_sleep_ms(POLL_MS);
        }
        ws->status = 0;
    }
    ws->running = false;
    if (status) {
        *status = ws->status;
    }
    return 0;
}

int
ws_stop(struct ws_server *ws)
{
    pid_t kids[WS_MAX_PROCS];
    int nkids, alive, rc = 0, i;

    if (ws->pid <= 0 || !ws->running) {
        return ws->status;
    }
    nkids = ws_children(ws->pid, kids, WS_MAX_PROCS);
    kill(ws->pid, SIGTERM);
    if (ws_wait_exit(ws, WS_STOP_MS, NULL) == -1) {
        ws_say("master %d still running %d ms after SIGTERM: SIGKILL",
               (int) ws->pid, WS_STOP_MS);
        kill(ws->pid, SIGKILL);
        ws_wait_exit(ws, WS_STOP_MS, NULL);
        rc = -1;
    }
    if (nkids > 0) {
        alive = ws_wait_pids_gone(kids, nkids, 3000);
        for (i = 0; alive > 0 && i < nkids; i++) {
            if (ws_pid_alive(kids[i])) {
                ws_say("worker %d outlived its master: SIGKILL",
                       (int) kids[i]);
                kill(kids[i], SIGKILL);
            }
        }
    }
    return rc == 0 ? ws->status : rc;
}

static void
dump_tail(const char *path, size_t max)
{
    size_t len;
    char *text = ws_read_file(path, &len);
    const char *p;

    if (text == NULL || len == 0) {
        fprintf(stderr, "harness: --- %s: (empty or missing)\n", path);
        free(text);
        return;
    }
    p = len > max ? text + len - max : text;
    fprintf(stderr, "harness: --- %s%s:\n%s%s", path,
            len > max ? " (tail)" : "", p,
            text[len - 1] == '\n' ? "" : "\n");
    free(text);
}

void
ws_dump_logs(const struct ws_server *ws)
{
    if (ws->dir[0] == '\0') {
        return;
    }
    dump_tail(ws->error_log, 4000);
    dump_tail(ws->stderr_log, 12000);
}

/* true when PATH holds an ASan/LSan/UBSan report. */
static bool
has_sanitizer_report(const char *path)
{
    return ws_file_contains(path, "ERROR: AddressSanitizer")
           || ws_file_contains(path, "ERROR: LeakSanitizer")
           || ws_file_contains(path, "runtime error:");
}

int
ws_cleanup(struct ws_server *ws)
{
    int rc = 0;

    if (ws->running) {
        ws_stop(ws);
    }
    if (ws->dir[0] != '\0') {
        if (has_sanitizer_report(ws->stderr_log)) {
            ws_say("sanitizer report in %s", ws->stderr_log);
            ws->passed = false;
            rc = -1;
        }
        if (!ws->passed) {
            ws_dump_logs(ws);
        }
        if (getenv("WS_KEEP_TMP") == NULL) {
            ws_rmtree(ws->dir);
        } else {
            ws_say("keeping %s", ws->dir);
        }
        ws->dir[0] = '\0';
    }
    return rc;
}

/* ---- Run the binary to completion ---- */

static int
tmpfile_fd(char *path, size_t len)
{
    int fd;

    snprintf(path, len, "/tmp/ws-itest-run-XXXXXX");
    fd = mkostemp(path, O_CLOEXEC);
    if (fd == -1) {
        ws_say("mkostemp: %s", strerror(errno));
    }
    return fd;
}

int
ws_run(const char *const *args, const char *cwd, int timeout_ms,
       struct ws_run_result *res)
{
    char out_path[64], err_path[64];
    int out_fd, err_fd, r;
    char **argv;
    pid_t pid;

    memset(res, 0, sizeof(*res));
    res->status = -1;
    res->code = -1;
    argv = make_argv(ws_bin(), args);
    out_fd = tmpfile_fd(out_path, sizeof(out_path));
    err_fd = tmpfile_fd(err_path, sizeof(err_path));
    if (argv == NULL || out_fd == -1 || err_fd == -1) {
        free(argv);
        return -1;
    }
    unlink(out_path);           /* the fds keep the files alive */
    unlink(err_path);
    pid = spawn(argv[0], argv, cwd, out_fd, err_fd, true);
    free(argv);
    if (pid == -1) {
        close(out_fd);
        close(err_fd);
        return -1;
    }
    r = wait_child(pid, timeout_ms, &res->status);
    if (r != 1) {
        res->timed_out = true;
        ws_say("%s did not exit within %d ms: SIGKILL", ws_bin(), timeout_ms);
        kill(pid, SIGKILL);
        wait_child(pid, WS_STOP_MS, &res->status);
    }
    res->code = ws_exit_code(res->status);

    /* Read back through /proc since the paths are unlinked. */
    char fdpath[64];
    snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", out_fd);
    res->out = ws_read_file(fdpath, NULL);
    snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", err_fd);
    res->err = ws_read_file(fdpath, NULL);
    close(out_fd);
    close(err_fd);
    if (res->out == NULL) {
        res->out = strdup("");
    }
    if (res->err == NULL) {
        res->err = strdup("");
    }
    return res->timed_out ? -1 : 0;
}

void
ws_run_result_free(struct ws_run_result *res)
{
    free(res->out);
    free(res->err);
    res->out = res->err = NULL;
}

/* ---- Process inspection ---- */

/* State and ppid from /proc/PID/stat. Returns 0 or -1 (no such process). */
static int
proc_stat(pid_t pid, char *state, pid_t *ppid)
{
    char path[64], buf[1024];
    const char *p;
    ssize_t n;
    int fd, pp;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return -1;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) {
        return -1;
    }
    buf[n] = '\0';
    p = strrchr(buf, ')');          /* comm may hold spaces and parens */
    if (p == NULL || sscanf(p + 1, " %c %d", state, &pp) != 2) {
        return -1;
    }
    *ppid = (pid_t) pp;
    return 0;
}

static int
pid_cmp(const void *a, const void *b)
{
    pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;
    return (x > y) - (x < y);
}

int
ws_children(pid_t ppid, pid_t *out, int max)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;

    if (d == NULL) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        char state, *end;
        pid_t pp;
        long pid = strtol(e->d_name, &end, 10);

        if (*end != '\0' || pid <= 0) {
            continue;
        }
        if (proc_stat((pid_t) pid, &state, &pp) == 0 && pp == ppid
            && state != 'Z' && state != 'X' && n < max) {
            out[n++] = (pid_t) pid;
        }
    }
    closedir(d);
    qsort(out, (size_t) n, sizeof(*out), pid_cmp);
    return n;
}

int
ws_wait_children(pid_t ppid, int want, int timeout_ms, pid_t *out)
{
    int64_t deadline = ws_now_ms() + timeout_ms;

    for (;;) {
        int n = ws_children(ppid, out, WS_MAX_PROCS);
        if (n == want || ws_now_ms() >= deadline) {
            return n;
        }
        ws_sleep_ms(POLL_MS);
    }
}

bool
ws_pid_alive(pid_t pid)
{
    char state;
    pid_t ppid;

    if (pid <= 0 || proc_stat(pid, &state, &ppid) == -1) {
        return false;
    }
    return state != 'Z' && state != 'X';
}

int
ws_wait_pids_gone(const pid_t *pids, int n, int timeout_ms)
{
    int64_t deadline = ws_now_ms() + timeout_ms;

    for (;;) {
        int alive = 0;
        for (int i = 0; i < n; i++) {
            alive += ws_pid_alive(pids[i]);
        }
        if (alive == 0 || ws_now_ms() >= deadline) {
            return alive;
        }
        ws_sleep_ms(POLL_MS);
    }
}

bool
ws_pid_in(pid_t pid, const pid_t *pids, int n)
{
    for (int i = 0; i < n; i++) {
        if (pids[i] == pid) {
            return true;
        }
    }
    return false;
}

int
ws_count_sockets(pid_t pid)
{
    char path[64], target[128];
    struct dirent *e;
    int count = 0;
    DIR *d;

    snprintf(path, sizeof(path), "/proc/%d/fd", (int) pid);
    d = opendir(path);
    if (d == NULL) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        ssize_t n;

        if (e->d_name[0] == '.') {
            continue;
        }
        n = readlinkat(dirfd(d), e->d_name, target, sizeof(target) - 1);
        if (n > 0) {
            target[n] = '\0';
            count += strncmp(target, "socket:", 7) == 0;
        }
    }
    closedir(d);
    return count;
}

/* ---- TCP connections of a port ---- */

/* Socket states as /proc/net/tcp numbers them (include/net/tcp_states.h). */
enum {
    TCP_ST_ESTABLISHED = 1,
    TCP_ST_SYN_RECV    = 3,
    TCP_ST_CLOSE_WAIT  = 8,
    TCP_ST_LISTEN      = 10
};

struct tcp_tally {
    int  conns;                 /* ESTABLISHED, SYN_RECV, CLOSE_WAIT */
    int  listeners;
    long queued;                /* accept queues of the listeners */
};

/* Tally the sockets with local port PORT in /proc/net/tcp and tcp6. For a
 * listener the rx_queue column is its accept queue. Returns 0, or -1 when
 * neither file can be read. */
static int
tcp_tally(int port, struct tcp_tally *t)
{
    static const char *const files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
    bool read_any = false;

    memset(t, 0, sizeof(*t));
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        FILE *f = fopen(files[i], "re");
        char line[512];

        if (f == NULL) {
            continue;
        }
        read_any = true;
        if (fgets(line, sizeof(line), f) == NULL) {     /* the header */
            fclose(f);
            continue;
        }
        while (fgets(line, sizeof(line), f) != NULL) {
            unsigned int lport, rport, st;
            unsigned long txq, rxq;

            if (sscanf(line, " %*d: %*[0-9A-Fa-f]:%X %*[0-9A-Fa-f]:%X %X "
                       "%lX:%lX", &lport, &rport, &st, &txq, &rxq) != 5
                || (int) lport != port) {
                continue;
            }
            if (st == TCP_ST_LISTEN) {
                t->listeners++;
                t->queued += (long) rxq;
            } else if (st == TCP_ST_ESTABLISHED || st == TCP_ST_SYN_RECV
                       || st == TCP_ST_CLOSE_WAIT) {
                t->conns++;
            }
        }
        fclose(f);
    }
    if (!read_any) {
        ws_say("cannot read /proc/net/tcp: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int
ws_tcp_server_conns(int port)
{
    struct tcp_tally t;

    return tcp_tally(port, &t) == 0 ? t.conns : -1;
}

int
ws_wait_tcp_server_conns(int port, int max, int timeout_ms)
{
    int64_t deadline = ws_now_ms() + timeout_ms;

    for (;;) {
        int n = ws_tcp_server_conns(port);
        if (n == -1 || n <= max || ws_now_ms() >= deadline) {
            return n;
        }
        ws_sleep_ms(POLL_MS);
    }
}

int
ws_tcp_accept_queue(int port)
{
    struct tcp_tally t;

    if (tcp_tally(port, &t) == -1) {
        return -1;
    }
    if (t.listeners == 0) {
        ws_say("nothing listens on port %d", port);
        return -1;
    }
    return (int) t.queued;
}

int
ws_wait_accepted(int port, int timeout_ms)
{
    int64_t deadline = ws_now_ms() + timeout_ms;

    for (;;) {
        int n = ws_tcp_accept_queue(port);
        if (n <= 0 || ws_now_ms() >= deadline) {
            return n;
        }
        ws_sleep_ms(POLL_MS);
    }
}

/* ---- HTTP client ---- */

static _Thread_local char http_err[256];

static int
http_fail(int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(http_err, sizeof(http_err), fmt, ap);
    va_end(ap);
    return rc;
}

int
ws_wait_readable(const int *fds, int n, int timeout_ms, int64_t *at)
{
    struct pollfd p[64];
    int64_t deadline = ws_now_ms() + timeout_ms;
    int ready = 0;

    if (n < 0 || n > (int) (sizeof(p) / sizeof(p[0]))) {
        ws_say("ws_wait_readable: %d fds, at most %zu", n,
               sizeof(p) / sizeof(p[0]));
        return 0;
    }
    for (int i = 0; i < n; i++) {
        p[i].fd = fds[i];
        p[i].events = POLLIN;
        p[i].revents = 0;
        if (at != NULL) {
            at[i] = -1;
        }
    }
    while (ready < n) {
        int64_t now = ws_now_ms();
        int rc;

        if (now >= deadline) {
            break;
        }
        rc = poll(p, (nfds_t) n, (int) (deadline - now));
        if (rc == -1 && errno != EINTR) {
            ws_say("poll: %s", strerror(errno));
            break;
        }
        now = ws_now_ms();
        for (int i = 0; rc > 0 && i < n; i++) {
            if (p[i].fd >= 0 && p[i].revents != 0) {
                if (at != NULL) {
                    at[i] = now;
                }
                p[i].fd = -1;           /* poll() skips it from now on */
                ready++;
            }
        }
    }
    return ready;
}

const char *
http_strerror(void)
{
    return http_err;
}

static void
set_timeouts(int fd)
{
    struct timeval tv = { WS_IO_TIMEOUT_S, 0 };

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Connect to 127.0.0.1:PORT, from SRC (an IPv4 address) unless NULL. */
static int
tcp_connect_from(int port, int rcvbuf, const char *src)
{
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons((uint16_t) port) };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd == -1) {
        return -1;
    }
    if (src != NULL) {
        struct sockaddr_in from = { .sin_family = AF_INET };
        if (inet_pton(AF_INET, src, &from.sin_addr) != 1) {
            close(fd);
            errno = EINVAL;
            return -1;
        }
        if (bind(fd, (struct sockaddr *) &from, sizeof(from)) == -1) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
    }
    if (rcvbuf > 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    }
    set_timeouts(fd);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    while (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == -1) {
        if (errno != EINTR) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
    }
    return fd;
}

static int
tcp_connect(int port, int rcvbuf)
{
    return tcp_connect_from(port, rcvbuf, NULL);
}

int
http_conn_open_from(struct http_conn *c, int port, const char *src)
{
    memset(c, 0, sizeof(*c));
    c->port = port;
    c->fd = tcp_connect_from(port, 0, src);
    if (c->fd == -1) {
        return http_fail(-1, "connect from %s to 127.0.0.1:%d: %s", src, port,
                         strerror(errno));
    }
    return 0;
}

int
http_conn_open_rcvbuf(struct http_conn *c, int port, int rcvbuf)
{
    memset(c, 0, sizeof(*c));
    c->port = port;
    c->fd = tcp_connect(port, rcvbuf);
    if (c->fd == -1) {
        return http_fail(-1, "connect to 127.0.0.1:%d: %s", port,
                         strerror(errno));
    }
    return 0;
}

int
http_conn_open(struct http_conn *c, int port)
{
    return http_conn_open_rcvbuf(c, port, 0);
}

void
http_conn_close(struct http_conn *c)
{
    if (c->fd >= 0) {
        close(c->fd);
    }
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
    c->len = c->cap = 0;
}

int
http_send(struct http_conn *c, const void *data, size_t len)
{
    const char *p = data;

    if (c->fd < 0) {
        return http_fail(HTTP_ERR, "send on a closed connection");
    }
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n == -1 && (errno == EPIPE || errno == ECONNRESET)) {
            return http_fail(HTTP_CLOSED_EARLY, "send: %s", strerror(errno));
        }
        if (n <= 0) {
            return http_fail(HTTP_ERR, "send: %s", strerror(errno));
        }
        p += n;
        len -= (size_t) n;
    }
    return HTTP_OK;
}

int
http_send_request(struct http_conn *c, const char *method, const char *path,
                  const char *extra)
{
    char head[8192];
    int n = snprintf(head, sizeof(head),
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s\r\n",
                     method, path, c->port, extra ? extra : "");

    if (n < 0 || n >= (int) sizeof(head)) {
        return http_fail(HTTP_ERR, "request head too long");
    }
    return http_send(c, head, (size_t) n);
}

/* recv() at most MAX bytes into DST, honouring the slow-reader settings.
 * Returns bytes, 0 on EOF, -1 on error or timeout (errno set). */
static ssize_t
conn_recv(struct http_conn *c, void *dst, size_t max)
{
    ssize_t n;

    if (c->slow_chunk > 0 && max > c->slow_chunk - c->slow_acc) {
        max = c->slow_chunk - c->slow_acc;
    }
    do {
        n = recv(c->fd, dst, max, 0);
    } while (n == -1 && errno == EINTR);
    if (n == 0) {
        c->eof = true;
    }
    if (n <= 0) {
        return n;
    }
    c->rx_total += (uint64_t) n;
    if (c->on_progress) {
        c->on_progress(c, c->progress_arg);
    }
    if (c->slow_chunk > 0) {
        c->slow_acc += (size_t) n;
        if (c->slow_acc >= c->slow_chunk) {
            c->slow_acc = 0;
            ws_sleep_ms(c->slow_ms);
        }
    }
    return n;
}

/* Append one recv() to c->buf. Returns bytes, 0 on EOF, -1 on error. */
static ssize_t
conn_fill(struct http_conn *c)
{
    if (c->cap - c->len < 16384) {
        size_t cap = c->cap ? c->cap * 2 : 65536;
        char *nb = realloc(c->buf, cap);
        if (nb == NULL) {
            errno = ENOMEM;
            return -1;
        }
        c->buf = nb;
        c->cap = cap;
    }
    return conn_recv(c, c->buf + c->len, c->cap - c->len);
}

static void
conn_consume(struct http_conn *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

/* Make sure c->buf holds at least N bytes. Returns 0 or -1. */
static int
conn_need(struct http_conn *c, size_t n)
{
    while (c->len < n) {
        ssize_t got = conn_fill(c);
        if (got <= 0) {
            return http_fail(-1, "%s after %zu of %zu bytes",
                             got == 0 ? "EOF" : strerror(errno), c->len, n);
        }
        c->len += (size_t) got;
    }
    return 0;
}

/* Offset just past the next CRLF in c->buf, reading more as needed.
 * Returns the offset, or -1. */
static long
conn_line(struct http_conn *c, size_t limit)
{
    for (;;) {
        char *p = c->len ? memmem(c->buf, c->len, "\r\n", 2) : NULL;
        ssize_t got;

        if (p != NULL) {
            return (long) (p - c->buf) + 2;
        }
        if (c->len > limit) {
            return http_fail(-1, "line longer than %zu bytes", limit);
        }
        got = conn_fill(c);
        if (got <= 0) {
            return http_fail(-1, "%s inside a line",
                             got == 0 ? "EOF" : strerror(errno));
        }
        c->len += (size_t) got;
    }
}

static bool
has_token(const char *value, const char *token)
{
    size_t tlen = strlen(token);
    const char *p = value;

    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        if (strncasecmp(p, token, tlen) == 0
            && (p[tlen] == '\0' || p[tlen] == ',' || p[tlen] == ' '
                || p[tlen] == '\t')) {
            return true;
        }
        p = strchr(p, ',');
    }
    return false;
}

/* Split HEAD (NUL-terminated, CRLF lines, without the blank line) in place
 * into R. Returns 0 or -1. */
static int
parse_head(char *head, struct http_resp *r)
{
    char *line = head, *next, *colon, *v, *end;
    int code;

    next = strstr(line, "\r\n");
    if (next) {
        *next = '\0';
        next += 2;
    }
    if (strncmp(line, "HTTP/1.", 7) != 0 || !isdigit((unsigned char) line[7])
        || line[8] != ' ') {
        return http_fail(-1, "bad status line '%.80s'", line);
    }
    r->minor = line[7] - '0';
    code = (int) strtol(line + 9, &end, 10);
    if (end != line + 12 || code < 100 || code > 999
        || (*end != ' ' && *end != '\0')) {
        return http_fail(-1, "bad status code in '%.80s'", line);
    }
    r->status = code;
    r->reason = *end ? end + 1 : end;

    for (line = next; line && *line; line = next) {
        next = strstr(line, "\r\n");
        if (next) {
            *next = '\0';
            next += 2;
        }
        colon = strchr(line, ':');
        if (colon == NULL || colon == line) {
            return http_fail(-1, "bad header line '%.80s'", line);
        }
        if (r->nheaders == HTTP_MAX_HEADERS) {
            return http_fail(-1, "more than %d headers", HTTP_MAX_HEADERS);
        }
        *colon = '\0';
        for (v = colon + 1; *v == ' ' || *v == '\t'; v++) {
        }
        for (end = v + strlen(v); end > v && (end[-1] == ' '
                                              || end[-1] == '\t'); end--) {
        }
        *end = '\0';
        r->headers[r->nheaders].name = line;
        r->headers[r->nheaders].value = v;
        r->nheaders++;
    }
    return 0;
}

/* Append N bytes of c->buf to the growing body of R. */
static int
body_append(struct http_resp *r, size_t *cap, const char *p, size_t n)
{
    if (r->body_len + n + 1 > *cap) {
        size_t ncap = *cap ? *cap : 65536;
        char *nb;

        while (ncap < r->body_len + n + 1) {
            ncap *= 2;
        }
        nb = realloc(r->body, ncap);
        if (nb == NULL) {
            return -1;
        }
        r->body = nb;
        *cap = ncap;
    }
    memcpy(r->body + r->body_len, p, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return 0;
}

static int
read_chunked(struct http_conn *c, struct http_resp *r)
{
    size_t cap = 0;

    for (;;) {
        long eol = conn_line(c, 4096);
        unsigned long size;
        char *end;

        if (eol < 0) {
            return -1;
        }
        size = strtoul(c->buf, &end, 16);
        if (end == c->buf) {
            return http_fail(-1, "bad chunk size line");
        }
        conn_consume(c, (size_t) eol);
        if (size == 0) {
            break;
        }
        if (conn_need(c, size + 2) == -1) {
            return -1;
        }
        if (body_append(r, &cap, c->buf, size) == -1) {
            return http_fail(-1, "out of memory");
        }
        if (memcmp(c->buf + size, "\r\n", 2) != 0) {
            return http_fail(-1, "chunk not followed by CRLF");
        }
        conn_consume(c, size + 2);
    }
    for (;;) {                          /* trailer section */
        long eol = conn_line(c, 8192);
        if (eol < 0) {
            return -1;
        }
        conn_consume(c, (size_t) eol);
        if (eol == 2) {
            break;
        }
    }
    if (r->body == NULL) {
        r->body = calloc(1, 1);
    }
    return 0;
}

static int
read_length(struct http_conn *c, struct http_resp *r, size_t len)
{
    size_t got = c->len < len ? c->len : len;

    r->body = malloc(len + 1);
    if (r->body == NULL) {
        return http_fail(-1, "out of memory for %zu bytes", len);
    }
    memcpy(r->body, c->buf, got);
    conn_consume(c, got);
    while (got < len) {
        ssize_t n = conn_recv(c, r->body + got, len - got);
        if (n <= 0) {
            return http_fail(-1, "body: %s after %zu of %zu bytes",
                             n == 0 ? "EOF" : strerror(errno), got, len);
        }
        got += (size_t) n;
    }
    r->body_len = len;
    r->body[len] = '\0';
    return 0;
}

static int
read_to_eof(struct http_conn *c, struct http_resp *r)
{
    size_t cap = 0;

    for (;;) {
        ssize_t n;

        if (c->len > 0) {
            if (body_append(r, &cap, c->buf, c->len) == -1) {
                return http_fail(-1, "out of memory");
            }
            c->len = 0;
        }
        n = conn_fill(c);
        if (n == 0) {
            break;
        }
        if (n < 0) {
            return http_fail(-1, "body to EOF: %s after %zu bytes",
                             strerror(errno), r->body_len);
        }
        c->len += (size_t) n;
    }
    if (r->body == NULL) {
        r->body = calloc(1, 1);
    }
    r->eof_framed = true;
    return 0;
}

int
http_read_response(struct http_conn *c, bool head_request,
                   struct http_resp *r)
{
    bool any = c->len > 0;

    for (;;) {
        const char *te, *cl, *conn;
        char *end;
        size_t head_len;
        int rc;

        memset(r, 0, sizeof(*r));
        for (;;) {                      /* the head, up to the blank line */
            char *p = c->len ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
            ssize_t n;

            if (p != NULL) {
                head_len = (size_t) (p - c->buf) + 2;
                break;
            }
            if (c->len > 65536) {
                return http_fail(HTTP_ERR, "response head over 64 KiB");
            }
            n = c->fd >= 0 ? conn_fill(c) : -1;
            if (n <= 0) {
                int e = errno;
                if (!any && (n == 0 || e == ECONNRESET)) {
                    return http_fail(HTTP_CLOSED_EARLY,
                                     "connection closed before any byte (%s)",
                                     n == 0 ? "EOF" : strerror(e));
                }
                return http_fail(HTTP_ERR, "head: %s after %zu bytes",
                                 n == 0 ? "EOF" : strerror(e), c->len);
            }
            c->len += (size_t) n;
            any = true;
        }

        r->head = malloc(head_len + 1);
        if (r->head == NULL) {
            return http_fail(HTTP_ERR, "out of memory");
        }
        memcpy(r->head, c->buf, head_len);
        r->head[head_len - 2] = '\0';   /* drop the last CRLF */
        conn_consume(c, head_len + 2);
        if (parse_head(r->head, r) == -1) {
            http_resp_free(r);
            return HTTP_ERR;
        }
        if (r->status >= 100 && r->status < 200 && r->status != 101) {
            http_resp_free(r);          /* interim: read the final one */
            continue;
        }

        te = http_header(r, "Transfer-Encoding");
        cl = http_header(r, "Content-Length");
        conn = http_header(r, "Connection");
        r->keepalive = r->minor >= 1 ? !(conn && has_token(conn, "close"))
                                     : (conn && has_token(conn, "keep-alive"));

        if (head_request || r->status == 204 || r->status == 304
            || r->status < 200) {
            r->body = calloc(1, 1);
            rc = r->body ? 0 : -1;
        } else if (te && has_token(te, "chunked")) {
            rc = read_chunked(c, r);
        } else if (cl) {
            unsigned long long len = strtoull(cl, &end, 10);
            if (end == cl || *end != '\0') {
                http_resp_free(r);
                return http_fail(HTTP_ERR, "bad Content-Length '%s'", cl);
            }
            rc = read_length(c, r, (size_t) len);
        } else {
            rc = read_to_eof(c, r);
            r->keepalive = false;
        }
        if (rc == -1) {
            http_resp_free(r);
            return HTTP_ERR;
        }
        c->responses++;
        return HTTP_OK;
    }
}

int
http_request(struct http_conn *c, const char *method, const char *path,
             const char *extra, struct http_resp *r)
{
    int rc = http_send_request(c, method, path, extra);

    memset(r, 0, sizeof(*r));
    if (rc != HTTP_OK) {
        return rc;
    }
    return http_read_response(c, strcmp(method, "HEAD") == 0, r);
}

int
http_request_once(int port, const char *src, const char *method,
                  const char *path, const char *hdrs, const char *form,
                  struct http_resp *r)
{
    struct http_conn c;
    char extra[4096];
    int rc, n;

    memset(r, 0, sizeof(*r));
    n = snprintf(extra, sizeof(extra), "Connection: close\r\n%s",
                 hdrs != NULL ? hdrs : "");
    if (form != NULL && n > 0 && (size_t) n < sizeof(extra))
        n += snprintf(extra + n, sizeof(extra) - (size_t) n,
                      "Content-Type: application/x-www-form-urlencoded\r\n"
                      "Content-Length: %zu\r\n", strlen(form));
    if (n < 0 || (size_t) n >= sizeof(extra)) {
        return http_fail(HTTP_ERR, "request headers too long");
    }
    rc = src != NULL ? http_conn_open_from(&c, port, src)
                     : http_conn_open(&c, port);
    if (rc != 0) {
        return HTTP_ERR;
    }
    rc = http_send_request(&c, method, path, extra);
    if (rc == HTTP_OK && form != NULL) {
        rc = http_send(&c, form, strlen(form));
    }
    if (rc == HTTP_OK) {
        rc = http_read_response(&c, strcmp(method, "HEAD") == 0, r);
    }
    http_conn_close(&c);
    return rc;
}

int
http_get(int port, const char *path, struct http_resp *r)
{
    struct http_conn c;
    int rc;

    memset(r, 0, sizeof(*r));
    if (http_conn_open(&c, port) == -1) {
        return HTTP_ERR;
    }
    rc = http_request(&c, "GET", path, "Connection: close\r\n", r);
    http_conn_close(&c);
    return rc;
}

const char *
http_header(const struct http_resp *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        if (strcasecmp(r->headers[i].name, name) == 0) {
            return r->headers[i].value;
        }
    }
    return NULL;
}

void
http_resp_free(struct http_resp *r)
{
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

/* ---- Private redis-server ---- */

int
ws_free_port(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t salen = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int port = -1;

    if (fd == -1) {
        return -1;
    }
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0
        && getsockname(fd, (struct sockaddr *) &sa, &salen) == 0) {
        port = ntohs(sa.sin_port);
    }
    close(fd);
    return port;
}

int
redis_connect(int port)
{
    return tcp_connect(port, 0);
}

/* Buffered reader over one reply. */
struct resp_reader {
    int    fd;
    char   buf[16384];
    size_t pos, len;
};

static int
rr_byte(struct resp_reader *rd, char *ch)
{
    if (rd->pos == rd->len) {
        ssize_t n;
        do {
            n = recv(rd->fd, rd->buf, sizeof(rd->buf), 0);
        } while (n == -1 && errno == EINTR);
        if (n <= 0) {
            return -1;
        }
        rd->pos = 0;
        rd->len = (size_t) n;
    }
    *ch = rd->buf[rd->pos++];
    return 0;
}

/* A CRLF-terminated line into a malloc'd string without the CRLF. */
static char *
rr_line(struct resp_reader *rd, size_t *lenp)
{
    size_t len = 0, cap = 64;
    char *s = malloc(cap), ch;

    while (s != NULL) {
        if (rr_byte(rd, &ch) == -1) {
            break;
        }
        if (len + 2 > cap) {
            char *ns = realloc(s, cap *= 2);
            if (ns == NULL) {
                break;
            }
            s = ns;
        }
        s[len++] = ch;
        if (len >= 2 && s[len - 2] == '\r' && s[len - 1] == '\n') {
            s[len - 2] = '\0';
            *lenp = len - 2;
            return s;
        }
    }
    free(s);
    return NULL;
}

static int
rr_reply(struct resp_reader *rd, struct redis_reply *reply, int depth)
{
    size_t len;
    char *line;

    memset(reply, 0, sizeof(*reply));
    if (depth > 8 || rr_byte(rd, &reply->type) == -1) {
        return -1;
    }
    line = rr_line(rd, &len);
    if (line == NULL) {
        return -1;
    }
    switch (reply->type) {
    case '+':
    case '-':
        reply->str = line;
        reply->len = len;
        return 0;
    case ':':
        reply->integer = strtoll(line, NULL, 10);
        free(line);
        return 0;
    case '$': {
        long long n = strtoll(line, NULL, 10);
        free(line);
        reply->integer = n;
        if (n < 0) {
            return 0;               /* nil */
        }
        reply->str = malloc((size_t) n + 1);
        if (reply->str == NULL) {
            return -1;
        }
        for (long long i = 0; i < n; i++) {
            if (rr_byte(rd, &reply->str[i]) == -1) {
                return -1;
            }
        }
        reply->str[n] = '\0';
        reply->len = (size_t) n;
        char cr, lf;
        if (rr_byte(rd, &cr) == -1 || rr_byte(rd, &lf) == -1) {
            return -1;
        }
        return 0;
    }
    case '*': {
        long long n = strtoll(line, NULL, 10);
        free(line);
        reply->integer = n;
        if (n <= 0) {
            return 0;
        }
        reply->elem = calloc((size_t) n, sizeof(*reply->elem));
        if (reply->elem == NULL) {
            return -1;
        }
        reply->nelem = (size_t) n;
        for (long long i = 0; i < n; i++) {
            if (rr_reply(rd, &reply->elem[i], depth + 1) == -1) {
                return -1;
            }
        }
        return 0;
    }
    default:
        free(line);
        return -1;
    }
}

int
redis_commandv(int fd, struct redis_reply *reply, int argc,
               const char *const *argv)
{
    struct resp_reader *rd;
    char *msg = NULL;
    size_t msglen = 0;
    FILE *f = open_memstream(&msg, &msglen);
    int rc;

    memset(reply, 0, sizeof(*reply));
    if (f == NULL) {
        return -1;
    }
    fprintf(f, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i] ? argv[i] : "";
        fprintf(f, "$%zu\r\n%s\r\n", strlen(a), a);
    }
    fclose(f);
    {
        struct http_conn tmp = { .fd = fd };
        rc = http_send(&tmp, msg, msglen);
    }
    free(msg);
    if (rc != HTTP_OK) {
        ws_say("redis send: %s", http_strerror());
        return -1;
    }
    rd = calloc(1, sizeof(*rd));
    if (rd == NULL) {
        return -1;
    }
    rd->fd = fd;
    rc = rr_reply(rd, reply, 0);
    free(rd);
    if (rc == -1) {
        ws_say("redis: no or bad reply to %s", argc > 0 && argv[0] ? argv[0]
                                                                  : "?");
        redis_reply_free(reply);
    }
    return rc;
}

static int
collect_args(const char *first, va_list ap, const char **argv, int max)
{
    int argc = 0;
    const char *a;

    for (a = first; a != NULL && argc < max; a = va_arg(ap, const char *)) {
        argv[argc++] = a;
    }
    return argc;
}

int
redis_command(int fd, struct redis_reply *reply, const char *arg, ...)
{
    const char *argv[64];
    va_list ap;
    int argc;

    va_start(ap, arg);
    argc = collect_args(arg, ap, argv, 64);
    va_end(ap);
    return redis_commandv(fd, reply, argc, argv);
}

int
redis_query(int port, const char *password, struct redis_reply *reply,
            const char *arg, ...)
{
    const char *argv[64];
    va_list ap;
    int argc, fd, rc;

    memset(reply, 0, sizeof(*reply));
    va_start(ap, arg);
    argc = collect_args(arg, ap, argv, 64);
    va_end(ap);
    fd = redis_connect(port);
    if (fd == -1) {
        ws_say("redis connect %d: %s", port, strerror(errno));
        return -1;
    }
    if (password != NULL) {
        struct redis_reply auth;
        rc = redis_command(fd, &auth, "AUTH", password, NULL);
        if (rc == -1 || auth.type != '+') {
            ws_say("redis AUTH failed: %s", auth.str ? auth.str : "?");
            redis_reply_free(&auth);
            close(fd);
            return -1;
        }
        redis_reply_free(&auth);
    }
    rc = redis_commandv(fd, reply, argc, argv);
    close(fd);
    return rc;
}

void
redis_reply_free(struct redis_reply *reply)
{
    if (reply == NULL) {
        return;
    }
    for (size_t i = 0; i < reply->nelem; i++) {
        redis_reply_free(&reply->elem[i]);
    }
    free(reply->elem);
    free(reply->str);
    memset(reply, 0, sizeof(*reply));
}

/* true once PORT answers PING with +PONG or an error such as -NOAUTH. */
static bool
redis_answers(int port)
{
    struct redis_reply reply;
    int fd = redis_connect(port);
    bool ok;

    if (fd == -1) {
        return false;
    }
    ok = redis_command(fd, &reply, "PING", NULL) == 0
         && (reply.type == '+' || reply.type == '-');
    redis_reply_free(&reply);
    close(fd);
    return ok;
}

int
redis_start(struct redis_server *r, const char *dir,
            const char *const *extra)
{
    const char *prog = getenv("REDIS_SERVER");

    if (prog == NULL || *prog == '\0') {
        prog = "/usr/bin/redis-server";
    }
    memset(r, 0, sizeof(*r));
    signal(SIGPIPE, SIG_IGN);
    snprintf(r->dir, sizeof(r->dir), "%s", dir);

    for (int attempt = 0; attempt < 3; attempt++) {   /* port races */
        const char *args[64];
        char port[16];
        int n = 0, fd, status;
        int64_t deadline;
        char **argv;

        r->port = ws_free_port();
        if (r->port <= 0) {
            return -1;
        }
        snprintf(port, sizeof(port), "%d", r->port);
        snprintf(r->log, sizeof(r->log), "%s/redis-%d.log", dir, r->port);
        args[n++] = "--port";       args[n++] = port;
        args[n++] = "--bind";       args[n++] = "127.0.0.1";
        args[n++] = "--save";       args[n++] = "";
        args[n++] = "--appendonly"; args[n++] = "no";
        args[n++] = "--daemonize";  args[n++] = "no";
        args[n++] = "--dir";        args[n++] = dir;
        for (int i = 0; extra && extra[i] && n < 62; i++) {
            args[n++] = extra[i];
        }
        args[n] = NULL;

        argv = make_argv(prog, args);
        fd = open(r->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (argv == NULL || fd == -1) {
            free(argv);
            if (fd != -1) {
                close(fd);
            }
            return -1;
        }
        r->pid = spawn(prog, argv, NULL, fd, fd, true);
        close(fd);
        free(argv);
        if (r->pid == -1) {
            r->pid = 0;
            return -1;
        }
        deadline = ws_now_ms() + 10000;
        for (;;) {
            if (waitpid(r->pid, &status, WNOHANG) == r->pid) {
                ws_say("redis-server on %d exited (code %d), see %s",
                       r->port, ws_exit_code(status), r->log);
                r->pid = 0;
                break;
            }
            if (redis_answers(r->port)) {
                return 0;
            }
            if (ws_now_ms() >= deadline) {
                ws_say("redis-server on %d not answering PING", r->port);
                redis_stop(r);
                return -1;
            }
            ws_sleep_ms(POLL_MS);
        }
    }
    return -1;
}

void
redis_stop(struct redis_server *r)
{
    int status;

    if (r->pid <= 0) {
        return;
    }
    kill(r->pid, SIGTERM);
    if (wait_child(r->pid, WS_STOP_MS, &status) != 1) {
        kill(r->pid, SIGKILL);
        wait_child(r->pid, WS_STOP_MS, &status);
    }
    r->pid = 0;
}

int
ws_fixture_setup(void **state)
{
    struct ws_server *ws = calloc(1, sizeof(*ws));

    if (ws == NULL || ws_init(ws) == -1) {
        free(ws);
        return -1;
    }
    *state = ws;
    return 0;
}

int
ws_fixture_teardown(void **state)
{
    int rc = ws_cleanup(*state);    /* -1 on a sanitizer report */

    free(*state);
    *state = NULL;
    return rc;
}

/* ---- Fixture: the server and a private Redis ---- */

int
ws_redis_fixture_setup(void **state)
{
    struct ws_redis_fx *f = calloc(1, sizeof(*f));

    if (f == NULL || ws_init(&f->ws) == -1) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

int
ws_redis_fixture_teardown(void **state)
{
    struct ws_redis_fx *f = *state;
    int rc = 0;

    if (f->ws.running) {
        ws_stop(&f->ws);
    }
    if (!f->ws.passed && f->rs.log[0] != '\0') {
        char *text = ws_read_file(f->rs.log, NULL);
        if (text != NULL) {
            fprintf(stderr, "harness: --- %s:\n%s\n", f->rs.log, text);
        }
        free(text);
    }
    redis_stop(&f->rs);
    if (ws_cleanup(&f->ws) == -1) {
        rc = -1;
    }
    free(f);
    return rc;
}

long
ws_rss_kb(pid_t pid)
{
    char path[64], *text, *p;
    long kb = -1;

    snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
    text = ws_read_file(path, NULL);
    if (text == NULL) {
        return -1;
    }
    p = strstr(text, "\nVmRSS:");
    if (p != NULL) {
        kb = strtol(p + 7, NULL, 10);
    }
    free(text);
    return kb;
}

/* ---- Watching workers under load ---- */

int
ws_watch_start(struct ws_watch *w, const pid_t *pids, int n)
{
    memset(w, 0, sizeof(*w));
    if (n < 0 || n > WS_WATCH_MAX) {
        ws_say("ws_watch_start: %d processes (at most %d)", n, WS_WATCH_MAX);
        return -1;
    }
    w->n = n;
    for (int i = 0; i < n; i++) {
        w->pids[i] = pids[i];
        w->sock_base[i] = ws_count_sockets(pids[i]);
        w->before_kb[i] = ws_rss_kb(pids[i]);
        w->peak_kb[i] = w->before_kb[i];
        if (w->before_kb[i] <= 0 || w->sock_base[i] < 0) {
            ws_say("ws_watch_start: cannot read process %d", (int) pids[i]);
            return -1;
        }
    }
    return 0;
}

void
ws_watch_sample(struct ws_watch *w, const atomic_int *settled, int want,
                int after, int timeout_ms)
{
    int64_t deadline = ws_now_ms() + timeout_ms;

    for (int done = 0; done < after; w->samples++) {
        bool all = atomic_load(settled) >= want;
        int socks = 0;

        for (int i = 0; i < w->n; i++) {
            long kb = ws_rss_kb(w->pids[i]);
            if (kb > w->peak_kb[i]) {
                w->peak_kb[i] = kb;
            }
            socks += ws_count_sockets(w->pids[i]) - w->sock_base[i];
        }
        if (socks > w->sock_peak) {
            w->sock_peak = socks;
        }
        if (all) {
            done++;
        } else if (ws_now_ms() >= deadline) {
            break;
        }
        ws_sleep_ms(100);           /* the sampling period */
    }
}

void
ws_watch_report(const struct ws_watch *w)
{
    for (int i = 0; i < w->n; i++) {
        fprintf(stderr, "worker %d: VmRSS %ld kB before, %ld kB peak "
                "(+%ld kB)\n", (int) w->pids[i], w->before_kb[i],
                w->peak_kb[i], w->peak_kb[i] - w->before_kb[i]);
    }
    fprintf(stderr, "workers held up to %d download sockets at once "
            "(%d samples)\n", w->sock_peak, w->samples);
}
