/* test_static_file.c - static_file.h: paths, MIME, ETag, static_open.
 * SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "defs.h"
#include "log.h"
#include "static_file.h"

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
    };

    log_set_level(LOG_CRIT);
    return cmocka_run_group_tests_name("static_file", tests, NULL, NULL);
}
