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
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "clock.h"
#include "defs.h"
#include "file_cache.h"
#include "http_parse.h"
#include "http_response.h"
#include "log.h"
#include "site_nav.h"
#include "txn.h"
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

/* Per enum static_enc: file name suffix, ETag suffix, coding name. */
static const char *const static_enc_suffix[] = { "", ".gz", ".br" };
static const char *const static_enc_tag[] = { "", "-gz", "-br" };
static const char *const static_enc_name[] = { NULL, "gzip", "br" };

void
static_etag_enc(const struct stat *st, enum static_enc enc, char *out)
{
    uint64_t ns = (uint64_t) st->st_mtim.tv_sec * 1000000000ULL
                  + (uint64_t) st->st_mtim.tv_nsec;

    snprintf(out, STATIC_ETAG_MAX, "\"%" PRIx64 "-%" PRIx64 "%s\"", ns,
             (uint64_t) st->st_size, static_enc_tag[enc]);
}

void
static_etag(const struct stat *st, char *out)
{
    static_etag_enc(st, STATIC_ENC_IDENTITY, out);
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

/* 301 to the same path with a trailing slash (query kept). */
static void
static_redirect_dir(struct txn *t)
{
    size_t plen, qlen, n = 0;
    const char *path = txn_raw_path(t, &plen);
    bool has_query;
    const char *query = txn_query(t, &qlen, &has_query);
    char *loc = wctx.scratch + 2 * wctx.scratch_len;

    if (plen + qlen + 3 > wctx.scratch_len) {
        txn_respond_error(t, 414, NULL);
        return;
    }
    if (plen == 0)
        loc[n++] = '/';
    memcpy(loc + n, path, plen);
    n += plen;
    loc[n++] = '/';
    if (has_query) {
        loc[n++] = '?';
        memcpy(loc + n, query, qlen);
        n += qlen;
    }
    loc[n] = '\0';
    txn_respond_redirect(t, 301, loc, NULL);
}

/* What a response needs to know about the representation it serves. */
struct static_obj {
    off_t           size;
    time_t          mtime;
    const char     *mime;
    const char     *etag;
    int             fd;     /* body by sendfile, or -1 ... */
    const char     *body;   /* ... from memory (the file cache) */
    enum static_enc enc;    /* its content coding */
    bool            vary;   /* the file has variants: Vary: Accept-Encoding */
    bool            nav;    /* a page with the site's bar: no-cache */
    bool            personal;   /* made for this visitor (site_nav.h):
                                 * private */
};

/* ---- Multipart ranges ---- */

#define STATIC_BOUNDARY_LEN  16
#define STATIC_PART_HEAD_MAX 256

/* A fresh multipart boundary (STATIC_BOUNDARY_LEN hex digits): splitmix64
 * over a per-process seed from getrandom(), so a worker pays one syscall
 * in its life and boundaries cannot be guessed from one another. */
static void
static_boundary(char *out)
{
    static const char hex[] = "0123456789abcdef";
    static uint64_t state;
    uint64_t z;

    if (state == 0) {
        if (getrandom(&state, sizeof(state), GRND_NONBLOCK)
            != (ssize_t) sizeof(state))
            state = ((uint64_t) getpid() << 32) ^ (uint64_t) time(NULL);
        state |= 1;
    }
    z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    for (int i = 0; i < STATIC_BOUNDARY_LEN; i++, z >>= 4)
        out[i] = hex[z & 15];
    out[STATIC_BOUNDARY_LEN] = '\0';
}

/* The head of part I (the CRLF that ends the previous part, the boundary
 * line, Content-Type, Content-Encoding of a variant, Content-Range, the
 * empty line) into OUT (STATIC_PART_HEAD_MAX bytes). Returns its length,
 * or 0 when it does not fit. */
static size_t
static_part_head(char *out, size_t i, const char *boundary,
                 const struct static_obj *o, const struct http_range *r)
{
    int n = snprintf(out, STATIC_PART_HEAD_MAX,
                     "%s--%s\r\nContent-Type: %s\r\n%s%s%s"
                     "Content-Range: bytes %lld-%lld/%lld\r\n\r\n",
                     i > 0 ? "\r\n" : "", boundary, o->mime,
                     o->enc != STATIC_ENC_IDENTITY ? "Content-Encoding: " : "",
                     o->enc != STATIC_ENC_IDENTITY ? static_enc_name[o->enc] : "",
                     o->enc != STATIC_ENC_IDENTITY ? "\r\n" : "",
                     (long long) r->first, (long long) r->last,
                     (long long) o->size);

    return n > 0 && n < STATIC_PART_HEAD_MAX ? (size_t) n : 0;
}

/* 206 multipart/byteranges with the N (>= 2, sorted, disjoint) ranges RS
 * of O: part heads and the closing boundary in the response buffer, the
 * parts themselves by sendfile from O's file (or copied from the cache).
 * The representation metadata of the file (type, coding) goes into every
 * part. Returns RC_OK once answered (taking O's fd), or RC_DONE when the
 * answer would be larger than the whole file (the caller sends that). */
static int
static_respond_multipart(struct txn *t, struct http_head *h,
                         const struct static_obj *o,
                         const struct http_range *rs, int n)
{
    char boundary[STATIC_BOUNDARY_LEN + 1], part[STATIC_PART_HEAD_MAX];
    char ctype[64], tail[32];
    uint64_t total = 0;
    size_t hl;
    int tl;

    static_boundary(boundary);
    for (int i = 0; i < n; i++) {
        hl = static_part_head(part, (size_t) i, boundary, o, &rs[i]);
        if (hl == 0)
            return RC_DONE;
        total += hl + (uint64_t) (rs[i].last - rs[i].first + 1);
    }
    tl = snprintf(tail, sizeof(tail), "\r\n--%s--\r\n", boundary);
    total += (uint64_t) tl;
    if (total > (uint64_t) o->size)
        return RC_DONE;         /* no amplification */

    snprintf(ctype, sizeof(ctype), "multipart/byteranges; boundary=%s",
             boundary);
    h->status = 206;
    h->content_type = ctype;
    h->content_encoding = NULL;     /* it is in the parts */
    h->content_length = (int64_t) total;
    h->range_total = 0;             /* Content-Range is in the parts */
    txn_respond_begin(t, h, o->fd);
    for (int i = 0; i < n; i++) {
        off_t first = rs[i].first, end = rs[i].last + 1;
        int rc;

        hl = static_part_head(part, (size_t) i, boundary, o, &rs[i]);
        if (o->fd >= 0)
            rc = txn_respond_add(t, part, hl, first, end);
        else if ((rc = txn_respond_add(t, part, hl, 0, 0)) == RC_OK)
            rc = txn_respond_add(t, o->body + first, (size_t) (end - first),
                                  0, 0);
        if (rc != RC_OK)
            return RC_OK;       /* C is closing */
    }
    txn_respond_add(t, tail, (size_t) tl, 0, 0);
    return RC_OK;
}

/* ---- Serving ---- */

/* Preconditions, ranges, then the response. Takes O's fd. */
static void
static_respond(struct txn *t, const struct static_obj *o)
{
    const struct http_request *r = txn_request(t);
    const char *data = txn_head_data(t);
    struct http_range rs[HTTP_RANGES_MAX];
    off_t first = 0, last = o->size - 1;
    struct http_head h;
    bool range_ok;
    int rc, n = RC_DONE;

    memset(&h, 0, sizeof(h));
    h.content_type = o->mime;
    h.last_modified = o->mtime;
    h.etag = o->etag;
    h.accept_ranges = true;
    h.content_encoding = static_enc_name[o->enc];
    h.vary_encoding = o->vary;
    if (wctx.cfg.static_cache_control[0] != '\0')
        h.cache_control = wctx.cfg.static_cache_control;
    /* The bar of such a page depends on the session cookie (site_nav.h):
     * caches must ask each time (no-cache); the two versions have their
     * own ETags, so a revalidation gets 304 or the version this visitor
     * should see, and the signed-in one is for this browser only. (No
     * "Vary: Cookie": it would split caches by every cookie, and a
     * signed-in visitor's cookie changes on every login.) */
    if (o->nav)
        h.cache_control = o->personal ? "private, no-cache" : "no-cache";

    rc = static_preconditions(r, data, o->etag, o->mtime, &range_ok);
    if (rc != 0) {
        if (o->fd >= 0)
            close(o->fd);
        h.status = rc;
        h.content_type = NULL;
        h.content_encoding = NULL;
        h.accept_ranges = false;
        h.content_length = -1;
        if (rc == STATIC_PRECONDITION_FAIL) {
            /* an error: no body, no validators, nothing to cache */
            h.content_length = 0;
            h.etag = NULL;
            h.last_modified = 0;
            h.cache_control = NULL;
        }
        txn_respond_head(t, &h, -1, 0, 0);
        return;
    }

    h.status = 200;
    if (r->range.len > 0 && range_ok)
        n = http_parse_range_set(data + r->range.off, r->range.len, o->size,
                                 rs, HTTP_RANGES_MAX);
    if (n == 416) {
        char extra[96];
        if (o->fd >= 0)
            close(o->fd);
        snprintf(extra, sizeof(extra), "Content-Range: bytes */%lld\r\n%s",
                 (long long) o->size,
                 o->vary ? "Vary: Accept-Encoding\r\n" : "");
        txn_respond_error(t, 416, extra);
        return;
    }
    if (n > 1 && static_respond_multipart(t, &h, o, rs, n) == RC_OK)
        return;
    if (n == 1) {
        h.status = 206;
        first = h.range_first = rs[0].first;
        last = h.range_last = rs[0].last;
        h.range_total = o->size;
    }
    if (o->fd < 0) {
        txn_respond_body(t, &h, o->body + first, (size_t) (last - first + 1));
        return;
    }
    h.content_length = last - first + 1;
    txn_respond_head(t, &h, o->fd, first, last + 1);
}

static void
static_respond_cached(struct txn *t, const struct file_cache_entry *e,
                      bool vary, bool nav)
{
    struct static_obj o = { (off_t) e->size, e->mtime.tv_sec, e->mime, e->etag,
                            -1, e->body, (enum static_enc) e->enc, vary, nav,
                            false };

    static_respond(t, &o);
}

/* A cached HTML page E for a visitor with a session cookie: the page with
 * the signed-in bar (site_nav.h), not compressed, its own ETag. Returns
 * RC_OK once answered, RC_DONE when E is no such page. */
static int
static_respond_signed_in(struct txn *t, const struct file_cache_entry *e,
                         bool vary)
{
    char page[FILE_CACHE_FILE_MAX + sizeof(SITE_NAV_SIGNED_IN)];
    char etag[FILE_CACHE_ETAG_MAX + 4];
    size_t clen, el = strlen(e->etag);
    const char *cookie = txn_cookie(t, &clen);
    long n;

    if (!e->nav || el < 2 || !site_nav_signed_in(cookie, clen))
        return RC_DONE;
    n = site_nav_render(e->body, e->size, page, sizeof(page));
    if (n < 0)
        return RC_DONE;
    /* "tag" -> "tag-in": another representation, another strong tag */
    snprintf(etag, sizeof(etag), "%.*s-in\"", (int) (el - 1), e->etag);
    {
        struct static_obj o = { (off_t) n, e->mtime.tv_sec, e->mime, etag,
                                -1, page, STATIC_ENC_IDENTITY, vary, true,
                                true };
        static_respond(t, &o);
    }
    return RC_OK;
}

/* ---- Precompressed variants ---- */

static bool
static_older(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec
           || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* FILE + ".gz" or ".br" in the scratch area of Location (unused while a
 * file is served); NULL when it does not fit. */
static const char *
static_variant_name(const char *file, enum static_enc enc)
{
    char *out = wctx.scratch + 2 * wctx.scratch_len;
    size_t fl = strlen(file);

    if (fl + 4 > wctx.scratch_len)
        return NULL;
    memcpy(out, file, fl);
    memcpy(out + fl, static_enc_suffix[enc], 4);
    return out;
}

/* Only text-like types are precompressed (tools/precompress.sh makes no
 * others): images, video and archives cost no variant lookups. */
static bool
static_mime_compressible(const char *mime)
{
    return strncmp(mime, "text/", 5) == 0 || strstr(mime, "json") != NULL
           || strstr(mime, "xml") != NULL
           || strcmp(mime, "application/wasm") == 0;
}

/* The variants of FILE (below root, modified at MTIME) that can be served:
 * regular files not older than it. Two fstatat() calls; the open that
 * serves one still goes through static_open(). */
static unsigned
static_variants(const char *file, const struct timespec *mtime)
{
    unsigned found = 0;

    for (int enc = STATIC_ENC_GZIP; enc <= STATIC_ENC_BR; enc++) {
        const char *name = static_variant_name(file, (enum static_enc) enc);
        struct stat st;

        if (name != NULL && fstatat(wctx.root_fd, name, &st, 0) == 0
            && S_ISREG(st.st_mode) && !static_older(&st.st_mtim, mtime))
            found |= STATIC_HAS(enc);
    }
    return found;
}

/* Answer with variant ENC of FILE (modified at MTIME, of type MIME), whose
 * requests are cached under KEY: from the cache, else from disk (and into
 * the cache, which may drop any other entry). Returns RC_OK once answered;
 * RC_DONE when the variant is gone, not a regular file or older than FILE
 * (nothing was answered and nothing put in the cache). */
static int
static_serve_variant(struct txn *t, const char *key, const char *file,
                     const struct timespec *mtime, const char *mime,
                     enum static_enc enc, bool nav)
{
    const struct file_cache_entry *v;
    char etag[STATIC_ETAG_MAX];
    const char *name;
    struct static_obj o;
    struct stat st;
    int fd;

    v = file_cache_get(key, enc);
    if (v != NULL && !static_older(&v->mtime, mtime)) {
        static_respond_cached(t, v, true, nav);
        return RC_OK;
    }
    name = static_variant_name(file, enc);
    if (name == NULL)
        return RC_DONE;
    fd = static_open(wctx.root_fd, name);
    if (fd < 0)
        return RC_DONE;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)
        || static_older(&st.st_mtim, mtime)) {
        close(fd);
        return RC_DONE;
    }
    static_etag_enc(&st, enc, etag);
    v = file_cache_put(key, enc, name, fd, &st, mime, etag);
    if (v != NULL) {
        close(fd);
        static_respond_cached(t, v, true, nav);
        return RC_OK;
    }
    o.size = st.st_size;
    o.mtime = st.st_mtim.tv_sec;
    o.mime = mime;
    o.etag = etag;
    o.fd = fd;
    o.body = NULL;
    o.enc = enc;
    o.vary = true;
    o.nav = nav;
    o.personal = false;
    static_respond(t, &o);
    return RC_OK;
}

/* With the variants AVAIL of FILE, answer with the one the client prefers,
 * if any: RC_OK once answered; else RC_DONE, with *AVAIL down to the
 * variants still there (KEY's entry learns it too). */
static int
static_negotiate(struct txn *t, const char *key, const char *file,
                 const struct timespec *mtime, const char *mime,
                 unsigned *avail, bool nav)
{
    size_t ae_len;
    const char *ae = txn_accept_encoding(t, &ae_len);

    while (*avail != 0) {
        enum static_enc enc = static_pick_encoding(ae, ae_len, *avail);
        if (enc == STATIC_ENC_IDENTITY)
            return RC_DONE;
        if (static_serve_variant(t, key, file, mtime, mime, enc, nav) == RC_OK)
            return RC_OK;
        *avail &= ~STATIC_HAS(enc);
        file_cache_set_variants(key, *avail, clock_now());
    }
    return RC_DONE;
}

void
static_file_serve(struct txn *t, const char *path)
{
    char *rel = wctx.scratch + wctx.scratch_len;
    char *key = wctx.scratch + 3 * wctx.scratch_len;
    const struct file_cache_entry *e;
    char etag[STATIC_ETAG_MAX];
    const char *mime;
    struct static_obj o;
    struct stat st;
    unsigned variants = 0;
    bool dir_slash;
    size_t rl;
    int fd, rc;

    rc = static_path_normalize(path, rel, &dir_slash);
    if (rc != RC_OK) {
        txn_respond_error(t, rc, NULL);
        return;
    }
    /* "a/" and "a" differ: one is a directory's index, the other a 301 */
    rl = strlen(rel);
    memcpy(key, rel, rl);
    key[rl] = dir_slash ? '/' : '\0';
    key[rl + (dir_slash ? 1 : 0)] = '\0';
    e = file_cache_get(key, STATIC_ENC_IDENTITY);
    if (e != NULL) {
        if (txn_request(t)->cookie.len > 0
            && static_respond_signed_in(t, e, e->variants != 0) == RC_OK)
            return;
        if (wctx.cfg.gzip_static && static_mime_compressible(e->mime)) {
            /* the hot path: no variants, looked for less than a second ago */
            variants = e->variants;
            if (clock_now() - e->variants_at >= STATIC_VARIANT_RECHECK_MS) {
                variants = static_variants(e->file, &e->mtime);
                file_cache_set_variants(key, variants, clock_now());
            }
            if (variants != 0) {
                struct timespec mtime = e->mtime;
                if (static_negotiate(t, key, e->file, &mtime, e->mime,
                                     &variants, e->nav) == RC_OK)
                    return;
                /* nothing was put in the cache: E still stands */
            }
        }
        static_respond_cached(t, e, variants != 0, e->nav);
        return;
    }

    fd = static_open(wctx.root_fd, rel);
    if (fd < 0) {
        txn_respond_error(t, static_errno_status(-fd), NULL);
        return;
    }
    if (fstat(fd, &st) < 0) {
        close(fd);
        txn_respond_error(t, 500, NULL);
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        size_t il = strlen(wctx.cfg.index);
        close(fd);
        if (!dir_slash && rel[0] != '\0') {
            static_redirect_dir(t);
            return;
        }
        if (rl + il + 2 > wctx.scratch_len) {
            txn_respond_error(t, 414, NULL);
            return;
        }
        if (rl > 0)
            rel[rl++] = '/';
        memcpy(rel + rl, wctx.cfg.index, il + 1);
        fd = static_open(wctx.root_fd, rel);
        if (fd < 0) {
            /* a directory without an index is not listed */
            txn_respond_error(t, fd == -ENOENT ? 403 : static_errno_status(-fd),
                               NULL);
            return;
        }
        if (fstat(fd, &st) < 0) {
            close(fd);
            txn_respond_error(t, 500, NULL);
            return;
        }
    } else if (dir_slash) {
        /* "/a.html/": a file is not a directory (one URL per file, and
         * relative links would resolve against the wrong base) */
        close(fd);
        txn_respond_error(t, 404, NULL);
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        txn_respond_error(t, 403, NULL);
        return;
    }

    mime = static_mime_type(rel);
    static_etag(&st, etag);
    if (wctx.cfg.gzip_static && static_mime_compressible(mime))
        variants = static_variants(rel, &st.st_mtim);
    e = file_cache_put(key, STATIC_ENC_IDENTITY, rel, fd, &st, mime, etag);
    if (e != NULL && wctx.cfg.gzip_static)
        file_cache_set_variants(key, variants, clock_now());
    if (e != NULL && txn_request(t)->cookie.len > 0
        && static_respond_signed_in(t, e, variants != 0) == RC_OK) {
        close(fd);
        return;
    }
    if (variants != 0
        && static_negotiate(t, key, rel, &st.st_mtim, mime, &variants,
                            e != NULL && e->nav) == RC_OK) {
        close(fd);
        return;
    }
    if (e != NULL) {
        close(fd);
        static_respond_cached(t, e, variants != 0, e->nav);
        return;
    }
    o.size = st.st_size;
    o.mtime = st.st_mtim.tv_sec;
    o.mime = mime;
    o.etag = etag;
    o.fd = fd;
    o.body = NULL;
    o.enc = STATIC_ENC_IDENTITY;
    o.vary = variants != 0;
    o.nav = false;
    o.personal = false;
    static_respond(t, &o);
}
