/* test_static_file.c - static_file.h: paths, MIME, ETag, static_open,
 * content negotiation, preconditions, and static_file_serve() driven
 * in-process over a socketpair (ranges, multipart, variants, 404 for a
 * file with a trailing slash, Cache-Control): tables of { __LINE__, ... }.
 * SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "conn.h"
#include "conn_pool.h"
#include "defs.h"
#include "file_cache.h"
#include "http_parse.h"
#include "log.h"
#include "mpool.h"
#include "static_file.h"
#include "timer.h"
#include "worker.h"
#include "worker_ctx.h"

/* ---- static_path_normalize ---- */

#define ERR_ONLY NULL   /* out is not checked for an error result */

struct norm_case {
    int         line;
    const char *in;
    int         rc;
    const char *out;        /* when rc == RC_OK */
    bool        dir_slash;  /* when rc == RC_OK */
};

static const struct norm_case norm_cases[] = {
    { __LINE__, "/",                RC_OK, "",              true  },
    { __LINE__, "/a/b",             RC_OK, "a/b",           false },
    { __LINE__, "/a/b/",            RC_OK, "a/b",           true  },
    { __LINE__, "/a/./b",           RC_OK, "a/b",           false },
    { __LINE__, "/a/../b",          RC_OK, "b",             false },
    { __LINE__, "/a/b/../c",        RC_OK, "a/c",           false },
    { __LINE__, "/a/./b/../c/",     RC_OK, "a/c",           true  },
    { __LINE__, "//a//b/",          RC_OK, "a/b",           true  },
    { __LINE__, "///",              RC_OK, "",              true  },
    { __LINE__, "/a/..",            RC_OK, "",              true  },
    { __LINE__, "/a/.",             RC_OK, "a",             true  },
    { __LINE__, "/a/b/..",          RC_OK, "a",             true  },
    { __LINE__, "/a/b/../..",       RC_OK, "",              true  },
    { __LINE__, "/.",               RC_OK, "",              true  },
    { __LINE__, "/index.html",      RC_OK, "index.html",    false },
    { __LINE__, "/a..b/c.d",        RC_OK, "a..b/c.d",      false },
    { __LINE__, "/a/b.",            RC_OK, "a/b.",          false },
    { __LINE__, "/.well-known/x",   RC_OK, ".well-known/x", false },
    { __LINE__, "/.well-known/",    RC_OK, ".well-known",   true  },
    { __LINE__, "/..",              400,   ERR_ONLY,        false },
    { __LINE__, "/../",             400,   ERR_ONLY,        false },
    { __LINE__, "/../a",            400,   ERR_ONLY,        false },
    { __LINE__, "/a/../../b",       400,   ERR_ONLY,        false },
    { __LINE__, "/a/b/../../../c",  400,   ERR_ONLY,        false },
    { __LINE__, "/./..",            400,   ERR_ONLY,        false },
    { __LINE__, "relative",         400,   ERR_ONLY,        false },
    { __LINE__, "",                 400,   ERR_ONLY,        false },
    { __LINE__, "a/b",              400,   ERR_ONLY,        false },
    { __LINE__, "./a",              400,   ERR_ONLY,        false },
    { __LINE__, "/.hidden",         404,   ERR_ONLY,        false },
    { __LINE__, "/a/.git/config",   404,   ERR_ONLY,        false },
    { __LINE__, "/a/.htpasswd",     404,   ERR_ONLY,        false },
    { __LINE__, "/...",             404,   ERR_ONLY,        false },
    { __LINE__, "/.well-knownx/a",  404,   ERR_ONLY,        false },
    { __LINE__, "/.well-know/a",    404,   ERR_ONLY,        false },
    { __LINE__, "/a/../.env",       404,   ERR_ONLY,        false },
};

static void
test_static_file_normalize_table(void **state)
{
    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(norm_cases); i++) {
        const struct norm_case *t = &norm_cases[i];
        size_t len = strlen(t->in);
        /* exactly the documented room: strlen(IN) + 1 */
        char *out = malloc(len + 1);
        bool dir = !t->dir_slash;
        int rc;

        assert_non_null(out);
        memset(out, 'X', len + 1);
        rc = static_path_normalize(t->in, out, &dir);
        if (rc != t->rc)
            fail_msg("line %d: \"%s\": rc %d, expected %d", t->line, t->in,
                     rc, t->rc);
        if (rc == RC_OK) {
            if (strcmp(out, t->out) != 0)
                fail_msg("line %d: \"%s\": out \"%s\", expected \"%s\"",
                         t->line, t->in, out, t->out);
            if (dir != t->dir_slash)
                fail_msg("line %d: \"%s\": dir_slash %d, expected %d",
                         t->line, t->in, dir, t->dir_slash);
        }
        free(out);
    }
}

/* The output never starts with '/', never holds "//", "." or ".."
 * segments, for a batch of generated inputs. */
static void
test_static_file_normalize_output_is_clean(void **state)
{
    static const char *const segs[] = { "a", "b", ".", "..", "", "c.d" };
    char in[64], out[64];

    UNUSED(state);
    /* every sequence of 4 segments from segs[] */
    for (size_t k = 0; k < 6 * 6 * 6 * 6; k++) {
        size_t x = k, n = 0;
        bool dir;
        int rc;

        for (int s = 0; s < 4; s++) {
            n += (size_t) snprintf(in + n, sizeof(in) - n, "/%s", segs[x % 6]);
            x /= 6;
        }
        rc = static_path_normalize(in, out, &dir);
        if (rc == 400)
            continue;
        if (rc != RC_OK)
            fail_msg("\"%s\": rc %d", in, rc);
        if (out[0] == '/' || strstr(out, "//") != NULL
            || (out[0] != '\0' && out[strlen(out) - 1] == '/'))
            fail_msg("\"%s\" -> \"%s\": stray slash", in, out);
        for (char *p = out; *p != '\0';) {
            size_t sl = strcspn(p, "/");
            if ((sl == 1 && p[0] == '.')
                || (sl == 2 && p[0] == '.' && p[1] == '.'))
                fail_msg("\"%s\" -> \"%s\": dot segment left", in, out);
            p += sl;
            if (*p == '/')
                p++;
        }
    }
}

/* ---- static_mime_type ---- */

struct mime_case {
    int         line;
    const char *path;
    const char *type;
};

static const struct mime_case mime_cases[] = {
    { __LINE__, "a.html",        "text/html; charset=utf-8" },
    { __LINE__, "a.css",         "text/css; charset=utf-8" },
    { __LINE__, "a.js",          "text/javascript; charset=utf-8" },
    { __LINE__, "a.mjs",         "text/javascript; charset=utf-8" },
    { __LINE__, "a.json",        "application/json; charset=utf-8" },
    { __LINE__, "a.txt",         "text/plain; charset=utf-8" },
    { __LINE__, "a.xml",         "application/xml; charset=utf-8" },
    { __LINE__, "a.svg",         "image/svg+xml; charset=utf-8" },
    { __LINE__, "a.png",         "image/png" },
    { __LINE__, "a.jpg",         "image/jpeg" },
    { __LINE__, "a.jpeg",        "image/jpeg" },
    { __LINE__, "a.gif",         "image/gif" },
    { __LINE__, "a.webp",        "image/webp" },
    { __LINE__, "a.avif",        "image/avif" },
    { __LINE__, "a.ico",         "image/x-icon" },
    { __LINE__, "a.mp4",         "video/mp4" },
    { __LINE__, "a.webm",        "video/webm" },
    { __LINE__, "a.ogg",         "audio/ogg" },
    { __LINE__, "a.mp3",         "audio/mpeg" },
    { __LINE__, "a.wav",         "audio/wav" },
    { __LINE__, "a.pdf",         "application/pdf" },
    { __LINE__, "a.wasm",        "application/wasm" },
    { __LINE__, "a.woff",        "font/woff" },
    { __LINE__, "a.woff2",       "font/woff2" },
    /* case-insensitive */
    { __LINE__, "a.PNG",         "image/png" },
    { __LINE__, "A.HTML",        "text/html; charset=utf-8" },
    { __LINE__, "a.WoFf2",       "font/woff2" },
    /* the last extension counts; directories do not */
    { __LINE__, "dir/sub/a.css", "text/css; charset=utf-8" },
    { __LINE__, "a.txt.png",     "image/png" },
    { __LINE__, "v1.2/readme",   "application/octet-stream" },
    { __LINE__, "a.b/c",         "application/octet-stream" },
    /* unknown, none, empty */
    { __LINE__, "a.unknownext",  "application/octet-stream" },
    { __LINE__, "a.exe",         "application/octet-stream" },
    { __LINE__, "Makefile",      "application/octet-stream" },
    { __LINE__, "a.",            "application/octet-stream" },
    { __LINE__, "",              "application/octet-stream" },
    { __LINE__, "a.htmlx",       "application/octet-stream" },
};

static void
test_static_file_mime_table(void **state)
{
    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(mime_cases); i++) {
        const struct mime_case *t = &mime_cases[i];
        const char *got = static_mime_type(t->path);

        if (got == NULL || strcmp(got, t->type) != 0)
            fail_msg("line %d: \"%s\": \"%s\", expected \"%s\"", t->line,
                     t->path, got != NULL ? got : "(null)", t->type);
    }
}

/* Text types carry the charset; binary ones do not. */
static void
test_static_file_mime_charset_only_on_text(void **state)
{
    static const char *const text[] = {
        "html", "css", "js", "mjs", "json", "txt", "xml", "svg"
    };
    static const char *const binary[] = {
        "png", "jpg", "jpeg", "gif", "webp", "avif", "ico", "mp4", "webm",
        "ogg", "mp3", "wav", "pdf", "wasm", "woff", "woff2"
    };
    char path[32];

    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(text); i++) {
        snprintf(path, sizeof(path), "x.%s", text[i]);
        if (strstr(static_mime_type(path), "; charset=utf-8") == NULL)
            fail_msg("%s: \"%s\" has no charset", path, static_mime_type(path));
    }
    for (size_t i = 0; i < ARRAY_SIZE(binary); i++) {
        snprintf(path, sizeof(path), "x.%s", binary[i]);
        if (strstr(static_mime_type(path), "charset") != NULL)
            fail_msg("%s: \"%s\" has a charset", path, static_mime_type(path));
    }
}

/* ---- static_etag ---- */

static void
etag_of(off_t size, time_t sec, long nsec, char *out)
{
    struct stat st;

    memset(&st, 0, sizeof(st));
    st.st_size = size;
    st.st_mtim.tv_sec = sec;
    st.st_mtim.tv_nsec = nsec;
    memset(out, 'X', STATIC_ETAG_MAX);
    static_etag(&st, out);
}

static void
test_static_file_etag_format(void **state)
{
    char e[STATIC_ETAG_MAX];
    size_t len;

    UNUSED(state);
    /* 1 s + 2 ns = 0x3b9aca02 ns; 4096 bytes = 0x1000 */
    etag_of(4096, 1, 2, e);
    assert_string_equal(e, "\"3b9aca02-1000\"");

    etag_of(0, 0, 0, e);
    assert_string_equal(e, "\"0-0\"");

    /* strong (no W/), quoted, NUL-terminated within STATIC_ETAG_MAX even
     * for the largest values */
    etag_of((off_t) INT64_MAX, (time_t) 4102444800, 999999999, e);
    len = strnlen(e, STATIC_ETAG_MAX);
    assert_true(len < STATIC_ETAG_MAX);
    assert_true(len >= 5);
    assert_int_equal(e[0], '"');
    assert_int_equal(e[len - 1], '"');
    assert_ptr_equal(strchr(e + 1, '"'), e + len - 1);
    assert_true(strncmp(e, "W/", 2) != 0);
}

static void
test_static_file_etag_changes(void **state)
{
    char a[STATIC_ETAG_MAX], b[STATIC_ETAG_MAX];

    UNUSED(state);
    etag_of(100, 1700000000, 5, a);
    etag_of(100, 1700000000, 5, b);
    assert_string_equal(a, b);              /* deterministic */

    etag_of(101, 1700000000, 5, b);
    assert_string_not_equal(a, b);          /* size */

    etag_of(100, 1700000000, 6, b);
    assert_string_not_equal(a, b);          /* mtime nanoseconds only */

    etag_of(100, 1700000001, 5, b);
    assert_string_not_equal(a, b);          /* mtime seconds */
}

/* ---- static_open ---- */

struct tree {
    char top[PATH_MAX];     /* mkdtemp dir */
    char root[PATH_MAX];    /* top/root: the document root */
    int  root_fd;           /* O_PATH, as worker_main() opens it */
};

static void
write_file(const char *path, const char *content)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t len = strlen(content);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, len), (ssize_t) len);
    close(fd);
}

static void
path_join(char *out, const char *a, const char *b)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", a, b);
    assert_true(n > 0 && n < PATH_MAX);
}

static int
setup_tree(void **state)
{
    struct tree *t = calloc(1, sizeof(*t));
    char p[PATH_MAX], target[PATH_MAX];

    if (t == NULL)
        return -1;
    snprintf(t->top, sizeof(t->top), "/tmp/test_static_file.XXXXXX");
    if (mkdtemp(t->top) == NULL)
        return -1;
    path_join(t->root, t->top, "root");
    if (mkdir(t->root, 0755) < 0)
        return -1;

    path_join(p, t->top, "secret.txt");             /* outside root */
    write_file(p, "secret\n");
    path_join(p, t->root, "index.html");
    write_file(p, "<p>hi</p>\n");
    path_join(p, t->root, "sub");
    if (mkdir(p, 0755) < 0)
        return -1;
    path_join(p, t->root, "sub/f.txt");
    write_file(p, "in sub\n");

    /* symlinks */
    path_join(p, t->root, "link.html");             /* -> index.html */
    if (symlink("index.html", p) < 0)
        return -1;
    path_join(p, t->root, "sub/up.html");           /* -> ../index.html */
    if (symlink("../index.html", p) < 0)
        return -1;
    path_join(p, t->root, "out.txt");               /* -> ../secret.txt */
    if (symlink("../secret.txt", p) < 0)
        return -1;
    path_join(p, t->root, "sub/out2.txt");          /* -> ../../secret.txt */
    if (symlink("../../secret.txt", p) < 0)
        return -1;
    path_join(target, t->top, "secret.txt");
    path_join(p, t->root, "abs_out.txt");           /* -> /tmp/.../secret.txt */
    if (symlink(target, p) < 0)
        return -1;
    path_join(target, t->root, "index.html");
    path_join(p, t->root, "abs_in.html");   /* -> /tmp/.../root/index.html */
    if (symlink(target, p) < 0)
        return -1;
    path_join(p, t->root, "outdir");                /* -> .. (a directory) */
    if (symlink("..", p) < 0)
        return -1;
    path_join(p, t->root, "fifo");
    if (mkfifo(p, 0644) < 0)
        return -1;

    t->root_fd = open(t->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (t->root_fd < 0)
        return -1;
    *state = t;
    return 0;
}

static int
teardown_tree(void **state)
{
    struct tree *t = *state;
    static const char *const rm[] = {
        "root/fifo", "root/outdir", "root/abs_in.html", "root/abs_out.txt",
        "root/sub/out2.txt", "root/out.txt", "root/sub/up.html",
        "root/link.html", "root/sub/f.txt", "root/index.html", "secret.txt",
    };
    char p[PATH_MAX];

    close(t->root_fd);
    for (size_t i = 0; i < ARRAY_SIZE(rm); i++) {
        path_join(p, t->top, rm[i]);
        unlink(p);
    }
    path_join(p, t->root, "sub");
    rmdir(p);
    rmdir(t->root);
    rmdir(t->top);
    free(t);
    return 0;
}

/* Read all of FD (at most CAP - 1 bytes) into BUF as a string. */
static void
read_all(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    ssize_t r;

    while (n + 1 < cap && (r = pread(fd, buf + n, cap - 1 - n, (off_t) n)) > 0)
        n += (size_t) r;
    buf[n] = '\0';
}

static void
expect_file(int root_fd, const char *rel, const char *content)
{
    char buf[256];
    int fd = static_open(root_fd, rel);

    if (fd < 0)
        fail_msg("static_open(\"%s\") = %d (%s), expected an fd", rel, fd,
                 strerror(-fd));
    read_all(fd, buf, sizeof(buf));
    close(fd);
    if (strcmp(buf, content) != 0)
        fail_msg("static_open(\"%s\") read \"%s\", expected \"%s\"", rel, buf,
                 content);
}

static void
expect_refused(int root_fd, const char *rel)
{
    int fd = static_open(root_fd, rel);

    if (fd >= 0) {
        char buf[64];
        read_all(fd, buf, sizeof(buf));
        close(fd);
        fail_msg("static_open(\"%s\") opened \"%s\"; expected a negative errno",
                 rel, buf);
    }
    if (fd == -ENOENT)
        fail_msg("static_open(\"%s\") = -ENOENT; expected a refusal", rel);
}

static void
test_static_file_open_regular(void **state)
{
    struct tree *t = *state;
    struct stat st;
    int fd;

    expect_file(t->root_fd, "index.html", "<p>hi</p>\n");
    expect_file(t->root_fd, "sub/f.txt", "in sub\n");

    fd = static_open(t->root_fd, "index.html");
    assert_true(fd >= 0);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(fstat(fd, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    close(fd);
}

static void
test_static_file_open_directories(void **state)
{
    struct tree *t = *state;
    struct stat st, rst;
    int fd;

    fd = static_open(t->root_fd, "sub");
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    close(fd);

    /* "" is root itself */
    fd = static_open(t->root_fd, "");
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(stat(t->root, &rst), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_ino, rst.st_ino);
    assert_int_equal(st.st_dev, rst.st_dev);
    close(fd);
}

static void
test_static_file_open_missing(void **state)
{
    struct tree *t = *state;

    assert_int_equal(static_open(t->root_fd, "nope.html"), -ENOENT);
    assert_int_equal(static_open(t->root_fd, "sub/nope"), -ENOENT);
    assert_int_equal(static_open(t->root_fd, "index.html/x"), -ENOTDIR);
}

static void
test_static_file_open_symlinks_inside(void **state)
{
    struct tree *t = *state;

    expect_file(t->root_fd, "link.html", "<p>hi</p>\n");
    expect_file(t->root_fd, "sub/up.html", "<p>hi</p>\n");
}

static void
test_static_file_open_escapes_refused(void **state)
{
    struct tree *t = *state;

    expect_refused(t->root_fd, "../secret.txt");
    expect_refused(t->root_fd, "sub/../../secret.txt");
    expect_refused(t->root_fd, "out.txt");          /* relative symlink out */
    expect_refused(t->root_fd, "sub/out2.txt");
    expect_refused(t->root_fd, "abs_out.txt");      /* absolute symlink out */
    expect_refused(t->root_fd, "abs_in.html");      /* absolute, even inside */
    expect_refused(t->root_fd, "outdir/secret.txt");
    expect_refused(t->root_fd, "outdir");
    expect_refused(t->root_fd, "/etc/passwd");      /* absolute path */
    expect_refused(t->root_fd, "..");
}

static void
alarm_noop(int sig)
{
    UNUSED(sig);
}

/* A FIFO under root must not hang the (single-threaded) worker: static_open
 * must return at once, with an fd (rejected later as not a regular file) or
 * an error. The alarm is only a safety net that turns a hang into -EINTR. */
static void
test_static_file_open_fifo_does_not_block(void **state)
{
    struct tree *t = *state;
    struct sigaction sa, old;
    int fd;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = alarm_noop;     /* no SA_RESTART: open() gets EINTR */
    sigaction(SIGALRM, &sa, &old);
    alarm(1);
    fd = static_open(t->root_fd, "fifo");
    alarm(0);
    sigaction(SIGALRM, &old, NULL);
    if (fd >= 0)
        close(fd);
    if (fd == -EINTR)
        fail_msg("static_open(\"fifo\") blocked until a signal: opening a "
                 "FIFO without O_NONBLOCK waits for a writer");
}

/* ---- Variant tags ---- */

static void
test_static_file_etag_variants_differ(void **state)
{
    char id[STATIC_ETAG_MAX], gz[STATIC_ETAG_MAX], br[STATIC_ETAG_MAX];
    struct stat st;

    UNUSED(state);
    memset(&st, 0, sizeof(st));
    st.st_size = 4096;
    st.st_mtim.tv_sec = 1;
    st.st_mtim.tv_nsec = 2;
    static_etag(&st, id);
    static_etag_enc(&st, STATIC_ENC_IDENTITY, gz);
    assert_string_equal(id, gz);            /* identity is the plain tag */
    static_etag_enc(&st, STATIC_ENC_GZIP, gz);
    static_etag_enc(&st, STATIC_ENC_BR, br);
    assert_string_equal(gz, "\"3b9aca02-1000-gz\"");
    assert_string_equal(br, "\"3b9aca02-1000-br\"");
    /* strong, quoted, and within STATIC_ETAG_MAX for the largest values */
    st.st_size = (off_t) INT64_MAX;
    st.st_mtim.tv_sec = (time_t) 4102444800;
    st.st_mtim.tv_nsec = 999999999;
    static_etag_enc(&st, STATIC_ENC_BR, br);
    assert_true(strlen(br) < STATIC_ETAG_MAX);
    assert_int_equal(br[strlen(br) - 1], '"');
    assert_non_null(strstr(br, "-br\""));
}

/* ---- static_pick_encoding ---- */

#define ID   STATIC_ENC_IDENTITY
#define GZIP STATIC_ENC_GZIP
#define BRO  STATIC_ENC_BR
#define GZ   STATIC_HAS(STATIC_ENC_GZIP)
#define BR   STATIC_HAS(STATIC_ENC_BR)

struct enc_case {
    int              line;
    const char      *ae;        /* Accept-Encoding value ("" = none) */
    unsigned         avail;
    enum static_enc  want;
};

static const struct enc_case enc_cases[] = {
    { __LINE__, "",                         GZ | BR, ID },
    { __LINE__, "gzip",                     GZ | BR, GZIP },
    { __LINE__, "br",                       GZ | BR, BRO },
    { __LINE__, "gzip, br",                 GZ | BR, BRO },
    { __LINE__, "br, gzip",                 GZ | BR, BRO },
    { __LINE__, "gzip, deflate, br, zstd",  GZ | BR, BRO },
    { __LINE__, "deflate, gzip, br, zstd",  GZ,      GZIP },
    { __LINE__, "br;q=0.5, gzip",           GZ | BR, GZIP },
    { __LINE__, "br;q=0.5, gzip;q=0.5",     GZ | BR, BRO },  /* equal: br */
    { __LINE__, "gzip;q=0.8, br;q=0.9",     GZ | BR, BRO },
    { __LINE__, "gzip;q=0.9, br;q=0.8",     GZ | BR, GZIP },
    { __LINE__, "gzip;q=0",                 GZ,      ID },
    { __LINE__, "gzip;q=0, br;q=0",         GZ | BR, ID },
    { __LINE__, "br;q=0.000",               BR,      ID },
    { __LINE__, "identity;q=0, gzip;q=0.1", GZ | BR, GZIP },
    { __LINE__, "identity;q=0",             GZ | BR, ID },   /* nothing else */
    { __LINE__, "*",                        GZ | BR, BRO },
    { __LINE__, "*",                        GZ,      GZIP },
    { __LINE__, "*;q=0",                    GZ | BR, ID },   /* nothing else */
    { __LINE__, "br;q=0, *",                GZ | BR, GZIP },
    { __LINE__, "*;q=0.5, gzip",            GZ | BR, GZIP },
    { __LINE__, "*;q=0.5, identity",        GZ | BR, ID },
    { __LINE__, "gzip;q=0.5, identity;q=0.8", GZ,    ID },
    { __LINE__, "identity, gzip;q=0.9",     GZ,      ID },
    { __LINE__, "identity, gzip",           GZ,      GZIP }, /* equal */
    { __LINE__, "gzip;q=0.5",               GZ,      GZIP }, /* identity last */
    { __LINE__, "gzip;q=0.001",             GZ,      GZIP },
    { __LINE__, "x-gzip",                   GZ,      GZIP },
    { __LINE__, "GZIP",                     GZ,      GZIP },
    { __LINE__, "Br",                       BR,      BRO },
    { __LINE__, "deflate",                  GZ | BR, ID },
    { __LINE__, "compress, zstd",           GZ | BR, ID },
    { __LINE__, "gzip",                     BR,      ID },   /* not there */
    { __LINE__, "br",                       GZ,      ID },
    { __LINE__, "gzip, br",                 0,       ID },
    { __LINE__, "gzip;q=1.0",               GZ,      GZIP },
    { __LINE__, "gzip;q=1.",                GZ,      GZIP },
    { __LINE__, "gzip;Q=0.5",               GZ,      GZIP },
    { __LINE__, "gzip ; q=0.5",             GZ,      GZIP },
    { __LINE__, "gzip;level=9",             GZ,      GZIP }, /* ignored */
    { __LINE__, "gzip;q=0.5;foo=bar",       GZ,      GZIP },
    /* malformed elements are skipped */
    { __LINE__, "gzip;q=1.001",             GZ,      ID },
    { __LINE__, "gzip;q=2",                 GZ,      ID },
    { __LINE__, "gzip;q=0.1234",            GZ,      ID },
    { __LINE__, "gzip;q=",                  GZ,      ID },
    { __LINE__, "gzip;q=-1",                GZ,      ID },
    { __LINE__, "gzip q=0.5",               GZ,      ID },
    { __LINE__, "gzip;q=1.001, br",         GZ | BR, BRO },
    { __LINE__, "gzipx",                    GZ,      ID },
    { __LINE__, "gz",                       GZ,      ID },
    { __LINE__, "gzip,,br",                 GZ | BR, BRO },
    { __LINE__, " , gzip",                  GZ,      GZIP },
    { __LINE__, ";q=1",                     GZ,      ID },
};

static void
test_static_file_pick_encoding_table(void **state)
{
    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(enc_cases); i++) {
        const struct enc_case *t = &enc_cases[i];
        size_t len = strlen(t->ae);
        char *v = malloc(len + 1);      /* exact size: no reading past LEN */
        enum static_enc got;

        assert_non_null(v);
        memcpy(v, t->ae, len);
        got = static_pick_encoding(v, len, t->avail);
        free(v);
        if (got != t->want)
            fail_msg("line %d: \"%s\" with variants %#x: %d, expected %d",
                     t->line, t->ae, t->avail, got, t->want);
    }
}

/* ---- static_preconditions ---- */

#define P_ETAG   "\"abc\""
#define P_MTIME  1600000000             /* Sun, 13 Sep 2020 12:26:40 GMT */
#define P_DATE   "Sun, 13 Sep 2020 12:26:40 GMT"
#define P_EARLY  "Sun, 13 Sep 2020 12:26:39 GMT"
#define P_LATE   "Mon, 14 Sep 2020 12:26:40 GMT"
#define P_1970   "Thu, 01 Jan 1970 00:00:01 GMT"
#define DC_RANGE (-1)

struct cond_case {
    int         line;
    const char *headers;    /* header lines of a GET, each ending in CRLF */
    int         rc;         /* 0, 304 or 412 */
    int         range_ok;   /* 0, 1 or DC_RANGE */
};

static const struct cond_case cond_cases[] = {
    { __LINE__, "", 0, 1 },
    /* If-Match: strong comparison */
    { __LINE__, "If-Match: \"abc\"\r\n", 0, 1 },
    { __LINE__, "If-Match: \"nope\"\r\n", 412, DC_RANGE },
    { __LINE__, "If-Match: \"nope\", \"abc\"\r\n", 0, 1 },
    { __LINE__, "If-Match: \"nope\",\"abc\"\r\n", 0, 1 },
    { __LINE__, "If-Match: *\r\n", 0, 1 },
    { __LINE__, "If-Match: W/\"abc\"\r\n", 412, DC_RANGE },
    { __LINE__, "If-Match: W/\"abc\", \"abc\"\r\n", 0, 1 },
    { __LINE__, "If-Match: abc\r\n", 412, DC_RANGE },
    { __LINE__, "If-Match: \"abc\r\n", 412, DC_RANGE },
    { __LINE__, "If-Match: \"a,b\", \"abc\"\r\n", 0, 1 },
    { __LINE__, "If-Match: \"abcd\"\r\n", 412, DC_RANGE },
    /* If-Unmodified-Since, only without If-Match */
    { __LINE__, "If-Unmodified-Since: " P_1970 "\r\n", 412, DC_RANGE },
    { __LINE__, "If-Unmodified-Since: " P_EARLY "\r\n", 412, DC_RANGE },
    { __LINE__, "If-Unmodified-Since: " P_DATE "\r\n", 0, 1 },
    { __LINE__, "If-Unmodified-Since: " P_LATE "\r\n", 0, 1 },
    { __LINE__, "If-Unmodified-Since: yesterday\r\n", 0, 1 },
    { __LINE__, "If-Match: \"abc\"\r\nIf-Unmodified-Since: " P_1970 "\r\n",
      0, 1 },
    { __LINE__, "If-Match: *\r\nIf-Unmodified-Since: " P_1970 "\r\n", 0, 1 },
    /* If-Match and IUS come before If-None-Match */
    { __LINE__, "If-Match: \"nope\"\r\nIf-None-Match: \"abc\"\r\n", 412,
      DC_RANGE },
    { __LINE__, "If-Unmodified-Since: " P_1970 "\r\nIf-None-Match: \"abc\"\r\n",
      412, DC_RANGE },
    { __LINE__, "If-Match: \"abc\"\r\nIf-None-Match: \"abc\"\r\n", 304,
      DC_RANGE },
    { __LINE__, "If-Unmodified-Since: " P_DATE "\r\nIf-Modified-Since: "
      P_DATE "\r\n", 304, DC_RANGE },
    /* If-None-Match: weak comparison; If-Modified-Since only without it */
    { __LINE__, "If-None-Match: \"abc\"\r\n", 304, DC_RANGE },
    { __LINE__, "If-None-Match: W/\"abc\"\r\n", 304, DC_RANGE },
    { __LINE__, "If-None-Match: *\r\n", 304, DC_RANGE },
    { __LINE__, "If-None-Match: \"x\", \"abc\"\r\n", 304, DC_RANGE },
    { __LINE__, "If-None-Match: \"x\"\r\n", 0, 1 },
    { __LINE__, "If-None-Match: \"x\"\r\nIf-Modified-Since: " P_DATE "\r\n",
      0, 1 },
    { __LINE__, "If-Modified-Since: " P_DATE "\r\n", 304, DC_RANGE },
    { __LINE__, "If-Modified-Since: " P_LATE "\r\n", 304, DC_RANGE },
    { __LINE__, "If-Modified-Since: " P_EARLY "\r\n", 0, 1 },
    { __LINE__, "If-Modified-Since: garbage\r\n", 0, 1 },
    /* If-Range last */
    { __LINE__, "If-Range: \"abc\"\r\n", 0, 1 },
    { __LINE__, "If-Range: \"x\"\r\n", 0, 0 },
    { __LINE__, "If-Range: W/\"abc\"\r\n", 0, 0 },
    { __LINE__, "If-Range: " P_DATE "\r\n", 0, 1 },
    { __LINE__, "If-Range: " P_LATE "\r\n", 0, 0 },
    { __LINE__, "If-Range: soon\r\n", 0, 0 },
    { __LINE__, "If-Match: \"abc\"\r\nIf-Range: \"x\"\r\n", 0, 0 },
    { __LINE__, "If-None-Match: \"x\"\r\nIf-Range: \"abc\"\r\n", 0, 1 },
};

static void
test_static_file_preconditions_table(void **state)
{
    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(cond_cases); i++) {
        const struct cond_case *t = &cond_cases[i];
        struct http_parser p;
        struct http_request r;
        char req[1024];
        bool range_ok = false;
        int n, rc;

        n = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: a\r\n%s\r\n",
                     t->headers);
        http_parser_init(&p, &r);
        if (http_parse_request(&p, &r, req, (size_t) n, 8192) != RC_OK)
            fail_msg("line %d: the request does not parse", t->line);
        rc = static_preconditions(&r, req, P_ETAG, P_MTIME, &range_ok);
        if (rc != t->rc)
            fail_msg("line %d: %d, expected %d", t->line, rc, t->rc);
        if (t->range_ok != DC_RANGE && range_ok != (t->range_ok == 1))
            fail_msg("line %d: range_ok %d, expected %d", t->line, range_ok,
                     t->range_ok);
    }
}

/* ---- static_file_serve() over a socketpair ---- */

#define SV_MTIME     1600000000
#define SV_BIG_SIZE  40000              /* above FILE_CACHE_FILE_MAX */
#define SV_SAFETY_MS 5000               /* a hang becomes a failure */

static const char SV_A[] = "hello, world\n";
static const char SV_PAGE_GZ[] = "PAGE-AS-GZIP";
static const char SV_PAGE_BR[] = "PAGE-AS-BR";
static const char SV_ONLY_GZ[] = "ONLY-CSS-GZ";
static const char SV_OLD_GZ[] = "OLD-JS-GZ";
static const char SV_SUB_GZ[] = "SUB-INDEX-GZ";
static const char SV_BIGTXT_BR[] = "BIG-TXT-BR";

struct sv {
    char  top[64];
    char *page;                     /* page.html: 2000 bytes of text */
    char *big;                      /* big.bin: SV_BIG_SIZE bytes */
    char *bigtxt;                   /* big.txt: SV_BIG_SIZE bytes of text */
    char *in;                       /* one response */
    size_t in_len, in_cap;
};

static void
sv_put(const struct sv *f, const char *rel, const void *data, size_t len,
       time_t mtime)
{
    struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
    char p[PATH_MAX];
    int fd;

    snprintf(p, sizeof(p), "%s/%s", f->top, rel);
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, (const char *) data + off, len - off);
        assert_true(n > 0);
        off += (size_t) n;
    }
    close(fd);
    assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
}

static void
sv_load_cb(evutil_socket_t fd, short what, void *arg)
{
    UNUSED(fd);
    UNUSED(what);
    UNUSED(arg);
    wctx.load_armed = false;
}

static int
sv_setup(void **state)
{
    struct sv *f = calloc(1, sizeof(*f));
    char p[PATH_MAX];

    if (f == NULL)
        return -1;
    snprintf(f->top, sizeof(f->top), "/tmp/test_static_serve.XXXXXX");
    if (mkdtemp(f->top) == NULL)
        return -1;
    f->page = malloc(2000);
    f->big = malloc(SV_BIG_SIZE);
    f->bigtxt = malloc(SV_BIG_SIZE);
    if (f->page == NULL || f->big == NULL || f->bigtxt == NULL)
        return -1;
    for (size_t i = 0; i < 2000; i++)
        f->page[i] = (char) ('a' + i % 26);
    for (size_t i = 0; i < SV_BIG_SIZE; i++) {
        f->big[i] = (char) ((i * 7 + i / 251) & 0xff);
        f->bigtxt[i] = (char) ('A' + (i * 3) % 26);
    }
    sv_put(f, "a.txt", SV_A, strlen(SV_A), SV_MTIME);
    sv_put(f, "page.html", f->page, 2000, SV_MTIME);
    sv_put(f, "page.html.gz", SV_PAGE_GZ, strlen(SV_PAGE_GZ), SV_MTIME);
    sv_put(f, "page.html.br", SV_PAGE_BR, strlen(SV_PAGE_BR), SV_MTIME + 5);
    sv_put(f, "only.css", "p{}\n", 4, SV_MTIME);
    sv_put(f, "only.css.gz", SV_ONLY_GZ, strlen(SV_ONLY_GZ), SV_MTIME);
    sv_put(f, "old.js", "x=1;\n", 5, SV_MTIME);
    sv_put(f, "old.js.gz", SV_OLD_GZ, strlen(SV_OLD_GZ), SV_MTIME - 1);
    sv_put(f, "big.bin", f->big, SV_BIG_SIZE, SV_MTIME);
    sv_put(f, "pic.png", "not-really-png\n", 15, SV_MTIME);
    sv_put(f, "pic.png.gz", "gz-of-a-png", 11, SV_MTIME);
    sv_put(f, "big.txt", f->bigtxt, SV_BIG_SIZE, SV_MTIME);
    sv_put(f, "big.txt.br", SV_BIGTXT_BR, strlen(SV_BIGTXT_BR), SV_MTIME);
    snprintf(p, sizeof(p), "%s/sub", f->top);
    if (mkdir(p, 0755) < 0)
        return -1;
    sv_put(f, "sub/index.html", "<p>sub</p>\n", 11, SV_MTIME);
    sv_put(f, "sub/index.html.gz", SV_SUB_GZ, strlen(SV_SUB_GZ), SV_MTIME);

    memset(&wctx, 0, sizeof(wctx));
    config_defaults(&wctx.cfg);
    snprintf(wctx.cfg.root, sizeof(wctx.cfg.root), "%s", f->top);
    wctx.cfg.max_connections = 4;
    wctx.id = 1;
    wctx.chan_fd = -1;
    clock_update();
    wctx.root_fd = open(wctx.cfg.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    wctx.base = event_base_new();
    wctx.pool = mpool_create(0);
    wctx.scratch_len = wctx.cfg.max_request_header + 256;
    wctx.scratch = malloc(WORKER_SCRATCH_AREAS * wctx.scratch_len);
    if (wctx.root_fd < 0 || wctx.base == NULL || wctx.pool == NULL
        || wctx.scratch == NULL || timer_init(wctx.base) != RC_OK
        || conn_pool_init((size_t) wctx.cfg.max_connections) != RC_OK
        || conn_events_init(wctx.base) != RC_OK)
        return -1;
    worker_wire();      /* the router and close hook, as worker_main() */
    wctx.load_ev = evtimer_new(wctx.base, sv_load_cb, NULL);
    if (wctx.load_ev == NULL)
        return -1;
    *state = f;
    return 0;
}

static int
sv_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    UNUSED(st);
    UNUSED(flag);
    UNUSED(ftw);
    return remove(path);
}

static int
sv_teardown(void **state)
{
    struct sv *f = *state;
    struct mpool_stats st;

    conn_close_all();
    assert_int_equal(conn_pool_in_use(), 0);
    event_free(wctx.load_ev);
    timer_deinit();
    conn_events_deinit();
    conn_pool_deinit();
    event_base_free(wctx.base);
    mpool_get_stats(wctx.pool, &st);
    assert_int_equal(st.bytes_in_use, 0);   /* pieces and buffers returned */
    mpool_destroy(wctx.pool);
    free(wctx.scratch);
    file_cache_clear();
    close(wctx.root_fd);
    nftw(f->top, sv_rm, 16, FTW_DEPTH | FTW_PHYS);
    free(f->page);
    free(f->big);
    free(f->bigtxt);
    free(f->in);
    free(f);
    return 0;
}

/* Send REQ on a new connection and run the loop until the server closes
 * it (the request says Connection: close); the answer lands in f->in. */
static void
sv_exchange(struct sv *f, const char *req)
{
    uint64_t limit;
    struct timespec ts;
    int sv[2];

    f->in_len = 0;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK
                                | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(send(sv[1], req, strlen(req), MSG_NOSIGNAL),
                     (ssize_t) strlen(req));
    assert_int_equal(conn_open(sv[0]), RC_OK);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    limit = (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000
            + SV_SAFETY_MS;
    for (;;) {
        ssize_t n;

        if (f->in_cap - f->in_len < 65536) {
            f->in_cap = f->in_cap * 2 + 65536;
            f->in = realloc(f->in, f->in_cap + 1);
            assert_non_null(f->in);
        }
        n = read(sv[1], f->in + f->in_len, f->in_cap - f->in_len);
        if (n > 0) {
            f->in_len += (size_t) n;
            continue;
        }
        if (n == 0)
            break;
        assert_true(errno == EAGAIN || errno == EINTR);
        clock_gettime(CLOCK_MONOTONIC, &ts);
        if ((uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000
            > limit)
            fail_msg("no complete answer to %.60s", req);
        event_base_loop(wctx.base, EVLOOP_NONBLOCK);
        {
            struct pollfd pfd = { sv[1], POLLIN, 0 };
            poll(&pfd, 1, 1);
        }
    }
    close(sv[1]);
    f->in[f->in_len] = '\0';
}

/* Value of header NAME in the head of f->in (NUL-terminated in OUT), or
 * NULL. */
static const char *
sv_header(const struct sv *f, const char *name, char *out, size_t cap)
{
    const char *end = strstr(f->in, "\r\n\r\n"), *p = f->in;
    size_t nl = strlen(name);

    while (end != NULL && (p = strstr(p, "\r\n")) != NULL && p < end) {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1, *e;
            while (*v == ' ')
                v++;
            e = strstr(v, "\r\n");
            snprintf(out, cap, "%.*s", (int) (e - v), v);
            return out;
        }
    }
    return NULL;
}

/* Configuration of a case */
#define SV_CC    1          /* static_cache_control = max-age=60 */
#define SV_NOGZ  2          /* gzip_static = off */

/* What a body must be: one of the files, or a slice of one, or text. */
enum sv_body { SV_ANY = 0, SV_NONE, SV_TEXT, SV_PAGE, SV_BIG, SV_BIGTXT };

struct serve_case {
    int           line;
    int           conf;         /* SV_CC | SV_NOGZ */
    const char   *method;
    const char   *path;
    const char   *extra;        /* more header lines, or NULL */
    int           status;
    /* "Name: value" must be there as is; "!Name" must not be there;
     * "~Name: prefix" must start so */
    const char   *hdr[6];
    enum sv_body  body;
    const char   *text;         /* SV_TEXT: the body; else NULL */
    long          first;        /* a slice [first, first + len) of the */
    long          len;          /* file; len -1: the whole file */
    const char   *contains[3];  /* strings the body must contain */
};

#define AE(v) "Accept-Encoding: " v "\r\n"

static const struct serve_case serve_cases[] = {
    /* ---- point 5: a file is not a directory ---- */
    { __LINE__, 0, "GET", "/a.txt/", NULL, 404, { "!Cache-Control" },
      SV_ANY, NULL, 0, -1, { NULL } },
    { __LINE__, 0, "GET", "/a.txt/.", NULL, 404, { NULL }, SV_ANY, NULL, 0,
      -1, { NULL } },
    { __LINE__, 0, "HEAD", "/page.html/", NULL, 404, { NULL }, SV_NONE, NULL,
      0, -1, { NULL } },
    { __LINE__, 0, "GET", "/sub/index.html/", NULL, 404, { NULL }, SV_ANY,
      NULL, 0, -1, { NULL } },
    { __LINE__, 0, "GET", "/a.txt", NULL, 200, { NULL }, SV_TEXT, SV_A, 0, -1,
      { NULL } },
    { __LINE__, 0, "GET", "/sub/", NULL, 200, { NULL }, SV_TEXT,
      "<p>sub</p>\n", 0, -1, { NULL } },
    { __LINE__, 0, "GET", "/sub", NULL, 301, { "Location: /sub/" }, SV_ANY,
      NULL, 0, -1, { NULL } },

    /* ---- point 1: preconditions ---- */
    { __LINE__, 0, "GET", "/a.txt", "If-Match: \"nope\"\r\n", 412,
      { "Content-Length: 0", "!ETag", "!Content-Type" }, SV_NONE, NULL, 0,
      -1, { NULL } },
    { __LINE__, 0, "HEAD", "/a.txt", "If-Match: \"nope\"\r\n", 412,
      { "Content-Length: 0" }, SV_NONE, NULL, 0, -1, { NULL } },
    { __LINE__, 0, "GET", "/big.bin", "If-Match: \"nope\"\r\n", 412,
      { "Content-Length: 0" }, SV_NONE, NULL, 0, -1, { NULL } },
    { __LINE__, 0, "GET", "/a.txt", "If-Unmodified-Since: Thu, 01 Jan 1970 "
      "00:00:01 GMT\r\n", 412, { "Content-Length: 0" }, SV_NONE, NULL, 0, -1,
      { NULL } },
    { __LINE__, 0, "GET", "/a.txt", "If-Unmodified-Since: Sun, 13 Sep 2020 "
      "12:26:40 GMT\r\n", 200, { NULL }, SV_TEXT, SV_A, 0, -1, { NULL } },
    { __LINE__, 0, "GET", "/a.txt", "If-Match: *\r\n", 200, { NULL }, SV_TEXT,
      SV_A, 0, -1, { NULL } },
    { __LINE__, 0, "GET", "/big.bin", "If-Match: *\r\nRange: bytes=5-9\r\n",
      206, { "Content-Range: bytes 5-9/40000" }, SV_BIG, NULL, 5, 5,
      { NULL } },

    /* ---- point 2: ranges ---- */
    /* several ranges: multipart by sendfile (big.bin is not cached) */
    { __LINE__, 0, "GET", "/big.bin", "Range: bytes=0-9,-10,10-19\r\n", 206,
      { "~Content-Type: multipart/byteranges; boundary=", "!Content-Range",
        "Accept-Ranges: bytes" }, SV_ANY, NULL, 0, -1,
      { "Content-Range: bytes 0-19/40000\r\n",
        "Content-Range: bytes 39990-39999/40000\r\n",
        "Content-Type: application/octet-stream\r\n" } },
    /* ... and from the cache (page.html is small) */
    { __LINE__, SV_NOGZ, "GET", "/page.html", "Range: bytes=-5,0-4\r\n", 206,
      { "~Content-Type: multipart/byteranges; boundary=" }, SV_ANY, NULL, 0,
      -1, { "Content-Range: bytes 0-4/2000\r\n\r\nabcde\r\n--",
            "Content-Range: bytes 1995-1999/2000\r\n\r\ntuvwx\r\n--",
            "Content-Type: text/html; charset=utf-8\r\n" } },
    /* coalesced into one: a plain 206 */
    { __LINE__, 0, "GET", "/big.bin", "Range: bytes=0-9,10-19\r\n", 206,
      { "Content-Range: bytes 0-19/40000", "Content-Length: 20",
        "Content-Type: application/octet-stream" }, SV_BIG, NULL, 0, 20,
      { NULL } },
    { __LINE__, 0, "GET", "/big.bin", "Range: bytes=100-199,150-160\r\n", 206,
      { "Content-Range: bytes 100-199/40000" }, SV_BIG, NULL, 100, 100,
      { NULL } },
    /* more parts than the file is long: the whole file */
    { __LINE__, 0, "GET", "/a.txt", "Range: bytes=0-0,2-2\r\n", 200,
      { "!Content-Range", "Content-Length: 13" }, SV_TEXT, SV_A, 0, -1,
      { NULL } },
    /* 17 ranges after coalescing: the whole file */
    { __LINE__, 0, "GET", "/big.bin", "Range: bytes=0-0,10-10,20-20,30-30,"
      "40-40,50-50,60-60,70-70,80-80,90-90,100-100,110-110,120-120,130-130,"
      "140-140,150-150,160-160\r\n", 200, { "!Content-Range" }, SV_BIG, NULL,
      0, -1, { NULL } },
    /* 16: multipart */
    { __LINE__, 0, "GET", "/big.bin", "Range: bytes=0-0,10-10,20-20,30-30,"
      "40-40,50-50,60-60,70-70,80-80,90-90,100-100,110-110,120-120,130-130,"
      "140-140,150-150\r\n", 206, { "!Content-Range" }, SV_ANY, NULL, 0, -1,
      { "Content-Range: bytes 150-150/40000\r\n" } },
    /* malformed sets are ignored */
    { __LINE__, 0, "GET", "/big.bin", "Range: bytes=alpha\r\n", 200,
      { "!Content-Range" }, SV_BIG, NULL, 0, -1, { NULL } },
    { __LINE__, 0, "GET", "/big.bin", "Range: bytes=10\r\n", 200,
      { "!Content-Range" }, SV_BIG, NULL, 0, -1, { NULL } },
    /* nothing satisfiable */
    { __LINE__, 0, "GET", "/big.bin", "Range: bytes=40000-,50000-60000\r\n",
      416, { "Content-Range: bytes */40000", "!Cache-Control" }, SV_ANY, NULL,
      0, -1, { NULL } },
    /* HEAD: the same head, no body */
    { __LINE__, 0, "HEAD", "/big.bin", "Range: bytes=0-9,-10\r\n", 206,
      { "~Content-Type: multipart/byteranges; boundary=", "!Content-Range" },
      SV_NONE, NULL, 0, -1, { NULL } },
    { __LINE__, 0, "HEAD", "/big.bin", "Range: bytes=0-9\r\n", 206,
      { "Content-Range: bytes 0-9/40000", "Content-Length: 10" }, SV_NONE,
      NULL, 0, -1, { NULL } },
    /* If-Range that does not match: the whole file */
    { __LINE__, 0, "GET", "/big.bin", "Range: bytes=0-9,20-29\r\n"
      "If-Range: \"stale\"\r\n", 200, { "!Content-Range" }, SV_BIG, NULL, 0,
      -1, { NULL } },

    /* ---- point 7: variants ---- */
    { __LINE__, 0, "GET", "/page.html", NULL, 200,
      { "Vary: Accept-Encoding", "!Content-Encoding",
        "Content-Type: text/html; charset=utf-8" }, SV_PAGE, NULL, 0, -1,
      { NULL } },
    { __LINE__, 0, "GET", "/page.html", AE("gzip"), 200,
      { "Content-Encoding: gzip", "Vary: Accept-Encoding",
        "Content-Type: text/html; charset=utf-8", "Content-Length: 12" },
      SV_TEXT, SV_PAGE_GZ, 0, -1, { NULL } },
    { __LINE__, 0, "GET", "/page.html", AE("gzip, deflate, br"), 200,
      { "Content-Encoding: br", "Vary: Accept-Encoding",
        "Content-Type: text/html; charset=utf-8" }, SV_TEXT, SV_PAGE_BR, 0,
      -1, { NULL } },
    { __LINE__, 0, "GET", "/page.html", AE("br;q=0.5, gzip"), 200,
      { "Content-Encoding: gzip" }, SV_TEXT, SV_PAGE_GZ, 0, -1, { NULL } },
    { __LINE__, 0, "GET", "/page.html", AE("identity;q=0, gzip;q=0.5"), 200,
      { "Content-Encoding: gzip" }, SV_TEXT, SV_PAGE_GZ, 0, -1, { NULL } },
    { __LINE__, 0, "GET", "/page.html", AE("gzip;q=0, br;q=0"), 200,
      { "!Content-Encoding", "Vary: Accept-Encoding" }, SV_PAGE, NULL, 0, -1,
      { NULL } },
    { __LINE__, 0, "GET", "/page.html", AE("*"), 200,
      { "Content-Encoding: br" }, SV_TEXT, SV_PAGE_BR, 0, -1, { NULL } },
    { __LINE__, 0, "HEAD", "/page.html", AE("gzip"), 200,
      { "Content-Encoding: gzip", "Content-Length: 12" }, SV_NONE, NULL, 0,
      -1, { NULL } },
    /* only a .gz: br is not there */
    { __LINE__, 0, "GET", "/only.css", AE("br"), 200,
      { "!Content-Encoding", "Vary: Accept-Encoding" }, SV_TEXT, "p{}\n", 0,
      -1, { NULL } },
    { __LINE__, 0, "GET", "/only.css", AE("br, gzip"), 200,
      { "Content-Encoding: gzip", "Content-Type: text/css; charset=utf-8" },
      SV_TEXT, SV_ONLY_GZ, 0, -1, { NULL } },
    /* a variant older than its file does not count */
    { __LINE__, 0, "GET", "/old.js", AE("gzip"), 200,
      { "!Content-Encoding", "!Vary" }, SV_TEXT, "x=1;\n", 0, -1, { NULL } },
    /* only text types are looked up: an image's .gz is not a variant */
    { __LINE__, 0, "GET", "/pic.png", AE("gzip, br"), 200,
      { "!Content-Encoding", "!Vary", "Content-Type: image/png" }, SV_TEXT,
      "not-really-png\n", 0, -1, { NULL } },
    /* no variant: no Vary */
    { __LINE__, 0, "GET", "/a.txt", AE("gzip, br"), 200,
      { "!Content-Encoding", "!Vary" }, SV_TEXT, SV_A, 0, -1, { NULL } },
    /* the variant asked for by name is a file like any other */
    { __LINE__, 0, "GET", "/page.html.gz", AE("gzip"), 200,
      { "!Content-Encoding", "!Vary", "Content-Type: application/gzip" },
      SV_TEXT, SV_PAGE_GZ, 0, -1, { NULL } },
    /* a directory's index has its variants too */
    { __LINE__, 0, "GET", "/sub/", AE("gzip"), 200,
      { "Content-Encoding: gzip", "Content-Type: text/html; charset=utf-8" },
      SV_TEXT, SV_SUB_GZ, 0, -1, { NULL } },
    /* a large file's variant, not cached */
    { __LINE__, 0, "GET", "/big.txt", AE("br"), 200,
      { "Content-Encoding: br", "Content-Type: text/plain; charset=utf-8" },
      SV_TEXT, SV_BIGTXT_BR, 0, -1, { NULL } },
    { __LINE__, 0, "GET", "/big.txt", NULL, 200, { "Vary: Accept-Encoding" },
      SV_BIGTXT, NULL, 0, -1, { NULL } },
    /* ranges and preconditions apply to the variant served */
    { __LINE__, 0, "GET", "/page.html", AE("gzip") "Range: bytes=0-3\r\n", 206,
      { "Content-Encoding: gzip", "Content-Range: bytes 0-3/12",
        "Vary: Accept-Encoding" }, SV_TEXT, "PAGE", 0, -1, { NULL } },
    { __LINE__, 0, "GET", "/page.html", AE("gzip") "Range: bytes=12-\r\n", 416,
      { "Content-Range: bytes */12", "Vary: Accept-Encoding" }, SV_ANY, NULL,
      0, -1, { NULL } },
    { __LINE__, 0, "GET", "/big.txt", AE("br") "Range: bytes=0-1,-2\r\n", 200,
      { "Content-Encoding: br", "!Content-Range" }, SV_TEXT, SV_BIGTXT_BR, 0,
      -1, { NULL } },   /* multipart would be larger than the variant */
    { __LINE__, 0, "GET", "/big.txt", AE("br") "If-None-Match: \"x\"\r\n"
      "Range: bytes=0-9\r\n", 206, { "Content-Encoding: br",
        "Content-Range: bytes 0-9/10" }, SV_TEXT, SV_BIGTXT_BR, 0, -1,
      { NULL } },
    /* gzip_static off: the file, and no Vary */
    { __LINE__, SV_NOGZ, "GET", "/page.html", AE("gzip, br"), 200,
      { "!Content-Encoding", "!Vary" }, SV_PAGE, NULL, 0, -1, { NULL } },

    /* ---- point 8: Cache-Control on 200, 206, 304 only ---- */
    { __LINE__, SV_CC, "GET", "/a.txt", NULL, 200,
      { "Cache-Control: max-age=60" }, SV_TEXT, SV_A, 0, -1, { NULL } },
    { __LINE__, SV_CC, "GET", "/big.bin", "Range: bytes=1-2\r\n", 206,
      { "Cache-Control: max-age=60" }, SV_BIG, NULL, 1, 2, { NULL } },
    { __LINE__, SV_CC, "GET", "/big.bin", "Range: bytes=1-2,5-6\r\n", 206,
      { "Cache-Control: max-age=60" }, SV_ANY, NULL, 0, -1, { NULL } },
    { __LINE__, SV_CC, "GET", "/a.txt", "If-Modified-Since: Sun, 13 Sep 2020 "
      "12:26:40 GMT\r\n", 304, { "Cache-Control: max-age=60" }, SV_NONE,
      NULL, 0, -1, { NULL } },
    { __LINE__, SV_CC, "GET", "/page.html", AE("gzip"), 200,
      { "Cache-Control: max-age=60", "Content-Encoding: gzip" }, SV_TEXT,
      SV_PAGE_GZ, 0, -1, { NULL } },
    { __LINE__, SV_CC, "GET", "/nope.txt", NULL, 404, { "!Cache-Control" },
      SV_ANY, NULL, 0, -1, { NULL } },
    { __LINE__, SV_CC, "GET", "/a.txt/", NULL, 404, { "!Cache-Control" },
      SV_ANY, NULL, 0, -1, { NULL } },
    { __LINE__, SV_CC, "GET", "/a.txt", "If-Match: \"x\"\r\n", 412,
      { "!Cache-Control" }, SV_NONE, NULL, 0, -1, { NULL } },
    { __LINE__, SV_CC, "GET", "/a.txt", "Range: bytes=99-\r\n", 416,
      { "!Cache-Control" }, SV_ANY, NULL, 0, -1, { NULL } },
    { __LINE__, SV_CC, "GET", "/sub", NULL, 301, { "!Cache-Control" }, SV_ANY,
      NULL, 0, -1, { NULL } },
    { __LINE__, SV_CC, "POST", "/a.txt", NULL, 405, { "!Cache-Control" },
      SV_ANY, NULL, 0, -1, { NULL } },
    { __LINE__, 0, "GET", "/a.txt", NULL, 200, { "!Cache-Control" }, SV_TEXT,
      SV_A, 0, -1, { NULL } },
};

/* Check f->in against T. Returns the number of mismatches (printed). */
static int
sv_check(struct sv *f, const struct serve_case *t)
{
    const char *head_end = strstr(f->in, "\r\n\r\n");
    const char *body, *want = NULL;
    char val[512], name[64];
    size_t body_len, want_len = 0;
    int bad = 0, status;

#define BAD(...)                                                            \
    do {                                                                    \
        print_error("line %d (%s %s): ", t->line, t->method, t->path);      \
        print_error(__VA_ARGS__);                                           \
        print_error("\n");                                                  \
        bad++;                                                              \
    } while (0)

    if (head_end == NULL || sscanf(f->in, "HTTP/1.1 %d", &status) != 1) {
        BAD("no response: '%.80s'", f->in);
        return bad;
    }
    if (status != t->status)
        BAD("status %d, expected %d", status, t->status);
    body = head_end + 4;
    body_len = f->in_len - (size_t) (body - f->in);
    if (sv_header(f, "Content-Length", val, sizeof(val)) != NULL
        && strcmp(t->method, "HEAD") != 0 && status != 304
        && (size_t) atol(val) != body_len)
        BAD("Content-Length %s, but %zu body bytes", val, body_len);
    for (size_t i = 0; i < ARRAY_SIZE(t->hdr) && t->hdr[i] != NULL; i++) {
        const char *h = t->hdr[i], *colon;
        bool absent = h[0] == '!', prefix = h[0] == '~';
        size_t nl;

        if (absent || prefix)
            h++;
        colon = strchr(h, ':');
        nl = colon != NULL ? (size_t) (colon - h) : strlen(h);
        snprintf(name, sizeof(name), "%.*s", (int) nl, h);
        if (sv_header(f, name, val, sizeof(val)) == NULL) {
            if (!absent)
                BAD("no %s header", name);
            continue;
        }
        if (absent)
            BAD("%s: %s, expected none", name, val);
        else if (prefix ? strncmp(val, colon + 2, strlen(colon + 2)) != 0
                        : strcmp(val, colon + 2) != 0)
            BAD("%s: '%s', expected '%s'", name, val, colon + 2);
    }
    switch (t->body) {
    case SV_ANY:
        break;
    case SV_NONE:
        want = "";
        break;
    case SV_TEXT:
        want = t->text;
        want_len = strlen(t->text);
        break;
    case SV_PAGE:
        want = f->page;
        want_len = 2000;
        break;
    case SV_BIG:
        want = f->big;
        want_len = SV_BIG_SIZE;
        break;
    case SV_BIGTXT:
        want = f->bigtxt;
        want_len = SV_BIG_SIZE;
        break;
    }
    if (want != NULL && t->body != SV_TEXT && t->body != SV_NONE
        && t->len >= 0) {
        want += t->first;
        want_len = (size_t) t->len;
    }
    if (want != NULL && (body_len != want_len
                         || memcmp(body, want, want_len) != 0))
        BAD("body of %zu bytes, expected %zu: '%.40s'", body_len, want_len,
            body);
    for (size_t i = 0; i < ARRAY_SIZE(t->contains) && t->contains[i] != NULL;
         i++) {
        if (memmem(body, body_len, t->contains[i], strlen(t->contains[i]))
            == NULL)
            BAD("the body lacks '%s'", t->contains[i]);
    }
#undef BAD
    return bad;
}

static void
sv_run_case(struct sv *f, const struct serve_case *t, int *failed,
            int *first)
{
    char req[2048];

    snprintf(wctx.cfg.static_cache_control,
             sizeof(wctx.cfg.static_cache_control), "%s",
             (t->conf & SV_CC) ? "max-age=60" : "");
    wctx.cfg.gzip_static = !(t->conf & SV_NOGZ);
    snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: t\r\n"
             "Connection: close\r\n%s\r\n", t->method, t->path,
             t->extra != NULL ? t->extra : "");
    sv_exchange(f, req);
    if (sv_check(f, t) != 0 && (*failed)++ == 0)
        *first = t->line;
}

/* Every case twice: the first run fills the file cache, the second is
 * answered from it (and the variants from theirs). */
static void
test_static_file_serve_table(void **state)
{
    struct sv *f = *state;
    int failed = 0, first = 0;

    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < ARRAY_SIZE(serve_cases); i++)
            sv_run_case(f, &serve_cases[i], &failed, &first);
    }
    if (failed != 0)
        fail_msg("%d of %zu cases failed, first at line %d", failed,
                 2 * ARRAY_SIZE(serve_cases), first);
}

/* Multipart boundaries differ from one answer to the next, and every part
 * is framed by the boundary the head announces. */
static void
test_static_file_multipart_boundary(void **state)
{
    struct sv *f = *state;
    char b1[128], b2[128], delim[160];
    const char *req = "GET /big.bin HTTP/1.1\r\nHost: t\r\nConnection: close"
                      "\r\nRange: bytes=0-1,3-4\r\n\r\n";
    const char *body;

    sv_exchange(f, req);
    assert_non_null(sv_header(f, "Content-Type", b1, sizeof(b1)));
    body = strstr(f->in, "\r\n\r\n") + 4;
    snprintf(delim, sizeof(delim), "--%s\r\n",
             b1 + strlen("multipart/byteranges; boundary="));
    assert_int_equal(strncmp(body, delim, strlen(delim)), 0);
    snprintf(delim, sizeof(delim), "\r\n--%s--\r\n",
             b1 + strlen("multipart/byteranges; boundary="));
    assert_true(f->in_len >= strlen(delim));
    assert_string_equal(f->in + f->in_len - strlen(delim), delim);
    sv_exchange(f, req);
    assert_non_null(sv_header(f, "Content-Type", b2, sizeof(b2)));
    assert_string_not_equal(b1, b2);
}

/* Preconditions see the file as it is now: a variant made after the file
 * was cached is picked up within STATIC_VARIANT_RECHECK_MS, and one that
 * goes away is noticed on the next request. */
static void
test_static_file_variant_appears_and_goes(void **state)
{
    struct sv *f = *state;
    char val[64], p[PATH_MAX];
    const char *req = "GET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                      "Accept-Encoding: gzip\r\n\r\n";

    sv_exchange(f, req);                    /* cached, no variant */
    assert_null(sv_header(f, "Content-Encoding", val, sizeof(val)));
    assert_null(sv_header(f, "Vary", val, sizeof(val)));
    sv_put(f, "a.txt.gz", "A-GZ", 4, SV_MTIME);
    /* the clock is the worker's cached one: move it on instead of waiting */
    clock_now_cached += STATIC_VARIANT_RECHECK_MS;
    sv_exchange(f, req);
    assert_string_equal(sv_header(f, "Content-Encoding", val, sizeof(val)),
                        "gzip");
    assert_string_equal(strstr(f->in, "\r\n\r\n") + 4, "A-GZ");
    snprintf(p, sizeof(p), "%s/a.txt.gz", f->top);
    assert_int_equal(unlink(p), 0);
    sv_exchange(f, req);
    assert_null(sv_header(f, "Content-Encoding", val, sizeof(val)));
    assert_string_equal(strstr(f->in, "\r\n\r\n") + 4, SV_A);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_static_file_normalize_table),
        cmocka_unit_test(test_static_file_normalize_output_is_clean),
        cmocka_unit_test(test_static_file_mime_table),
        cmocka_unit_test(test_static_file_mime_charset_only_on_text),
        cmocka_unit_test(test_static_file_etag_format),
        cmocka_unit_test(test_static_file_etag_changes),
#define T(f) cmocka_unit_test_setup_teardown(f, setup_tree, teardown_tree)
        T(test_static_file_open_regular),
        T(test_static_file_open_directories),
        T(test_static_file_open_missing),
        T(test_static_file_open_symlinks_inside),
        T(test_static_file_open_escapes_refused),
        T(test_static_file_open_fifo_does_not_block),
#undef T
        cmocka_unit_test(test_static_file_etag_variants_differ),
        cmocka_unit_test(test_static_file_pick_encoding_table),
        cmocka_unit_test(test_static_file_preconditions_table),
        cmocka_unit_test_setup_teardown(test_static_file_serve_table,
                                        sv_setup, sv_teardown),
        cmocka_unit_test_setup_teardown(test_static_file_multipart_boundary,
                                        sv_setup, sv_teardown),
        cmocka_unit_test_setup_teardown(
            test_static_file_variant_appears_and_goes, sv_setup, sv_teardown),
    };

    log_set_level(LOG_CRIT);
    return cmocka_run_group_tests_name("static_file", tests, NULL, NULL);
}
