/* static_file.c - static files under root (see static_file.h).
 * Worker only. Bodies go out with sendfile(), so a 1 GiB video costs the
 * same memory as a 1 KiB page.
 * SPDX-License-Identifier: MIT */
#include "static_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "conn.h"
#include "defs.h"
#include "file_cache.h"
#include "http_parse.h"
#include "http_response.h"
#include "log.h"
#include "worker_ctx.h"

/* ---- Paths ---- */

int
static_path_normalize(const char *in, char *out, bool *dir_slash)
{
    size_t o = 0;
    const char *p = in;

    if (*p != '/')
        return 400;
    *dir_slash = false;
    while (*p != '\0') {
        const char *seg;
        size_t len;

        while (*p == '/')
            p++;
        if (*p == '\0') {
            *dir_slash = true;
            break;
        }
        seg = p;
        while (*p != '\0' && *p != '/')
            p++;
        len = (size_t) (p - seg);

        if (len == 1 && seg[0] == '.') {
            if (*p == '\0')
                *dir_slash = true;
            continue;
        }
        if (len == 2 && seg[0] == '.' && seg[1] == '.') {
            if (o == 0)
                return 400;             /* above root */
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;                    /* the slash before it */
            if (*p == '\0')
                *dir_slash = true;
            continue;
        }
        if (seg[0] == '.' && !(len == 11 && memcmp(seg, ".well-known", 11) == 0))
            return 404;                 /* hidden file or directory */
        if (o > 0)
            out[o++] = '/';
        memcpy(out + o, seg, len);
        o += len;
    }
    out[o] = '\0';
    return RC_OK;
}

struct static_mime {
    const char *ext;
    const char *type;
};

static const struct static_mime static_mimes[] = {
    { "html",  "text/html; charset=utf-8" },
    { "htm",   "text/html; charset=utf-8" },
    { "css",   "text/css; charset=utf-8" },
    { "js",    "text/javascript; charset=utf-8" },
    { "mjs",   "text/javascript; charset=utf-8" },
    { "json",  "application/json; charset=utf-8" },
    { "txt",   "text/plain; charset=utf-8" },
    { "xml",   "application/xml; charset=utf-8" },
    { "svg",   "image/svg+xml; charset=utf-8" },
    { "csv",   "text/csv; charset=utf-8" },
    { "md",    "text/markdown; charset=utf-8" },
    { "png",   "image/png" },
    { "jpg",   "image/jpeg" },
    { "jpeg",  "image/jpeg" },
    { "gif",   "image/gif" },
    { "webp",  "image/webp" },
    { "avif",  "image/avif" },
    { "ico",   "image/x-icon" },
    { "bmp",   "image/bmp" },
    { "mp4",   "video/mp4" },
    { "m4v",   "video/mp4" },
    { "webm",  "video/webm" },
    { "ogv",   "video/ogg" },
    { "ogg",   "audio/ogg" },
    { "oga",   "audio/ogg" },
    { "mp3",   "audio/mpeg" },
    { "m4a",   "audio/mp4" },
    { "wav",   "audio/wav" },
    { "flac",  "audio/flac" },
    { "pdf",   "application/pdf" },
    { "wasm",  "application/wasm" },
    { "woff",  "font/woff" },
    { "woff2", "font/woff2" },
    { "ttf",   "font/ttf" },
    { "otf",   "font/otf" },
    { "zip",   "application/zip" },
    { "gz",    "application/gzip" },
    { "tar",   "application/x-tar" },
};

const char *
static_mime_type(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash != NULL ? slash : path, '.');

    if (dot != NULL && dot[1] != '\0') {
        for (size_t i = 0; i < ARRAY_SIZE(static_mimes); i++) {
            if (strcasecmp(dot + 1, static_mimes[i].ext) == 0)
                return static_mimes[i].type;
        }
    }
    return "application/octet-stream";
}

void
static_etag(const struct stat *st, char *out)
{
    uint64_t ns = (uint64_t) st->st_mtim.tv_sec * 1000000000ULL
                  + (uint64_t) st->st_mtim.tv_nsec;

    snprintf(out, STATIC_ETAG_MAX, "\"%" PRIx64 "-%" PRIx64 "\"", ns,
             (uint64_t) st->st_size);
}

/* Fallback for kernels without openat2: open, then check where it landed. */
static int
static_open_checked(int root_fd, const char *rel)
{
    char link[64], real[PATH_MAX], root[PATH_MAX];
    ssize_t n;
    size_t rl;
    int fd;

    snprintf(link, sizeof(link), "/proc/self/fd/%d", root_fd);
    n = readlink(link, root, sizeof(root) - 1);
    if (n < 0)
        return -EACCES;
    root[n] = '\0';
    fd = openat(root_fd, rel[0] != '\0' ? rel : ".", O_RDONLY | O_CLOEXEC
                | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, real, sizeof(real) - 1);
    rl = strlen(root);
    if (n < 0 || (size_t) n < rl || memcmp(real, root, rl) != 0
        || (real[rl] != '/' && real[rl] != '\0')) {
        close(fd);
        return -EXDEV;
    }
    return fd;
}

int
static_open(int root_fd, const char *rel)
{
    static bool no_openat2;
    struct open_how how;
    long fd;

    if (!no_openat2) {
        memset(&how, 0, sizeof(how));
        /* O_NONBLOCK: a FIFO under root must not stall the worker */
        how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
        fd = syscall(SYS_openat2, root_fd, rel[0] != '\0' ? rel : ".", &how,
                     sizeof(how));
        if (fd >= 0)
            return (int) fd;
        if (errno != ENOSYS)
            return -errno;
        no_openat2 = true;
        log_msg(LOG_NOTICE, "openat2() unavailable; checking paths after open");
    }
    return static_open_checked(root_fd, rel);
}

/* ---- Serving ---- */

static int
static_errno_status(int err)
{
    switch (err) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
        return 404;
    case EACCES:
    case EPERM:
    case EXDEV:         /* resolution left root */
    case ELOOP:
        return 403;
    case EMFILE:
    case ENFILE:
    case ENOMEM:
        return 503;
    default:
        return 500;
    }
}

/* Does the If-None-Match list match ETAG (weak comparison)? */
static bool
static_inm_match(const char *v, size_t len, const char *etag)
{
    size_t el = strlen(etag), i = 0;

    while (i < len) {
        size_t start;
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        if (i < len && v[i] == '*')
            return true;
        if (i + 2 <= len && v[i] == 'W' && v[i + 1] == '/')
            i += 2;
        start = i;
        if (i < len && v[i] == '"') {
            i++;
            while (i < len && v[i] != '"')
                i++;
            if (i < len)
                i++;
        } else {
            while (i < len && v[i] != ',')
                i++;
        }
        if (i - start == el && memcmp(v + start, etag, el) == 0)
            return true;
    }
    return false;
}

/* If-Range: strong match on the ETag, or the exact Last-Modified date. */
static bool
static_if_range_ok(const struct conn *c, const char *etag, time_t mtime)
{
    const char *v = conn_req_ptr(c, c->rq->req.if_range);
    size_t len = c->rq->req.if_range.len;
    time_t t;

    if (len == 0)
        return true;
    if (v[0] == '"')
        return len == strlen(etag) && memcmp(v, etag, len) == 0;
    if (len >= 2 && v[0] == 'W' && v[1] == '/')
        return false;
    return http_parse_date(v, len, &t) == RC_OK && t == mtime;
}

/* 301 to the same path with a trailing slash (query kept). */
static void
static_redirect_dir(struct conn *c)
{
    const char *path = conn_req_ptr(c, c->rq->req.path);
    size_t plen = c->rq->req.path.len, qlen = c->rq->req.query.len, n = 0;
    char *loc = wctx.scratch + 2 * wctx.scratch_len;
    bool has_query = c->rq->req.query.off != 0;

    if (plen + qlen + 3 > wctx.scratch_len) {
        conn_respond_error(c, 414, NULL);
        return;
    }
    if (plen == 0)
        loc[n++] = '/';
    memcpy(loc + n, path, plen);
    n += plen;
    loc[n++] = '/';
    if (has_query) {
        loc[n++] = '?';
        memcpy(loc + n, conn_req_ptr(c, c->rq->req.query), qlen);
        n += qlen;
    }
    loc[n] = '\0';
    conn_respond_redirect(c, 301, loc, NULL);
}

/* What a response needs to know about the file it serves. */
struct static_obj {
    off_t       size;
    time_t      mtime;
    const char *mime;
    const char *etag;
    int         fd;         /* body by sendfile, or -1 ... */
    const char *body;       /* ... from memory (the file cache) */
};

/* Conditional and range handling, then the response. Takes FD. */
static void
static_respond(struct conn *c, const struct static_obj *o)
{
    const struct http_request *r = &c->rq->req;
    struct http_head h;
    off_t first = 0, last = o->size - 1;
    int rc;

    memset(&h, 0, sizeof(h));
    h.content_type = o->mime;
    h.last_modified = o->mtime;
    h.etag = o->etag;
    h.accept_ranges = true;

    /* conditional GET: If-None-Match wins over If-Modified-Since */
    if (r->if_none_match.len > 0) {
        if (static_inm_match(conn_req_ptr(c, r->if_none_match),
                             r->if_none_match.len, o->etag))
            h.status = 304;
    } else if (r->if_modified_since.len > 0) {
        time_t ims;
        if (http_parse_date(conn_req_ptr(c, r->if_modified_since),
                            r->if_modified_since.len, &ims) == RC_OK
            && o->mtime <= ims)
            h.status = 304;
    }
    if (h.status == 304) {
        if (o->fd >= 0)
            close(o->fd);
        h.content_type = NULL;
        h.content_length = -1;
        h.accept_ranges = false;
        conn_respond_head(c, &h, -1, 0, 0);
        return;
    }

    h.status = 200;
    if (r->range.len > 0 && r->method == HTTP_GET
        && static_if_range_ok(c, o->etag, o->mtime)) {
        rc = http_parse_range(conn_req_ptr(c, r->range), r->range.len, o->size,
                              &first, &last);
        if (rc == 416) {
            char extra[64];
            if (o->fd >= 0)
                close(o->fd);
            snprintf(extra, sizeof(extra), "Content-Range: bytes */%lld\r\n",
                     (long long) o->size);
            conn_respond_error(c, 416, extra);
            return;
        }
        if (rc == RC_OK) {
            h.status = 206;
            h.range_first = first;
            h.range_last = last;
            h.range_total = o->size;
        } else {
            first = 0;
            last = o->size - 1;
        }
    }
    if (o->fd < 0) {
        conn_respond_body(c, &h, o->body + first, (size_t) (last - first + 1));
        return;
    }
    h.content_length = last - first + 1;
    conn_respond_head(c, &h, o->fd, first, last + 1);
}

static void
static_respond_cached(struct conn *c, const struct file_cache_entry *e)
{
    struct static_obj o = { (off_t) e->size, e->mtime.tv_sec, e->mime, e->etag,
                            -1, e->body };

    static_respond(c, &o);
}

void
static_file_serve(struct conn *c, const char *path)
{
    char *rel = wctx.scratch + wctx.scratch_len;
    char *key = wctx.scratch + 3 * wctx.scratch_len;
    const struct file_cache_entry *e;
    char etag[STATIC_ETAG_MAX];
    struct static_obj o;
    struct stat st;
    bool dir_slash;
    size_t rl;
    int fd, rc;

    rc = static_path_normalize(path, rel, &dir_slash);
    if (rc != RC_OK) {
        conn_respond_error(c, rc, NULL);
        return;
    }
    /* "a/" and "a" differ: one is a directory's index, the other a 301 */
    rl = strlen(rel);
    memcpy(key, rel, rl);
    key[rl] = dir_slash ? '/' : '\0';
    key[rl + (dir_slash ? 1 : 0)] = '\0';
    e = file_cache_get(wctx.root_fd, key);
    if (e != NULL) {
        static_respond_cached(c, e);
        return;
    }

    fd = static_open(wctx.root_fd, rel);
    if (fd < 0) {
        conn_respond_error(c, static_errno_status(-fd), NULL);
        return;
    }
    if (fstat(fd, &st) < 0) {
        close(fd);
        conn_respond_error(c, 500, NULL);
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        size_t il = strlen(wctx.cfg.index);
        close(fd);
        if (!dir_slash && rel[0] != '\0') {
            static_redirect_dir(c);
            return;
        }
        if (rl + il + 2 > wctx.scratch_len) {
            conn_respond_error(c, 414, NULL);
            return;
        }
        if (rl > 0)
            rel[rl++] = '/';
        memcpy(rel + rl, wctx.cfg.index, il + 1);
        fd = static_open(wctx.root_fd, rel);
        if (fd < 0) {
            /* a directory without an index is not listed */
            conn_respond_error(c, fd == -ENOENT ? 403 : static_errno_status(-fd),
                               NULL);
            return;
        }
        if (fstat(fd, &st) < 0) {
            close(fd);
            conn_respond_error(c, 500, NULL);
            return;
        }
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        conn_respond_error(c, 403, NULL);
        return;
    }

    static_etag(&st, etag);
    e = file_cache_put(key, rel, fd, &st, static_mime_type(rel), etag);
    if (e != NULL) {
        close(fd);
        static_respond_cached(c, e);
        return;
    }
    o.size = st.st_size;
    o.mtime = st.st_mtim.tv_sec;
    o.mime = static_mime_type(rel);
    o.etag = etag;
    o.fd = fd;
    o.body = NULL;
    static_respond(c, &o);
}
