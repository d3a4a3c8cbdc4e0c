/* static_file.h - serving files under root: path normalisation that cannot
 * leave root, openat2(RESOLVE_BENEATH), MIME types, validators,
 * preconditions (RFC 9110 13), single and multipart range requests,
 * precompressed variants (F.br, F.gz), sendfile bodies. Worker only.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_STATIC_FILE_H
#define WORKER_STATIC_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

#define STATIC_ETAG_MAX 48

/* Content codings we serve from precompressed files beside the original;
 * also the file cache's encoding numbers. */
enum static_enc {
    STATIC_ENC_IDENTITY = 0,
    STATIC_ENC_GZIP,        /* F.gz */
    STATIC_ENC_BR           /* F.br */
};
#define STATIC_HAS(enc) (1u << (enc))

/* How long the knowledge that a cached file has no variant is trusted
 * before it is looked at again (two fstatat() calls), so a variant made
 * after the file was cached is served within this. */
#define STATIC_VARIANT_RECHECK_MS 1000

struct txn;
struct http_request;

/* Turn a decoded absolute path ("/a/./b/../c/") into a path relative to
 * root ("a/c") in OUT (room for strlen(IN) + 1): no leading slash, no "."
 * or ".." or empty segments. *DIR_SLASH tells whether IN ended with '/'.
 * Returns RC_OK; 400 when IN is not absolute or ".." climbs above root;
 * 404 for a hidden segment (".name"; "/.well-known" is allowed). */
int static_path_normalize(const char *in, char *out, bool *dir_slash);

/* MIME type for PATH by extension (text types carry charset=utf-8);
 * "application/octet-stream" when unknown. */
const char *static_mime_type(const char *path);

/* Strong validator from size and mtime: "\"<mtime ns hex>-<size hex>\"";
 * for a variant (ENC not identity) with "-gz" or "-br" before the closing
 * quote, so it never equals the tag of the file or of another variant. */
void static_etag(const struct stat *st, char *out);
void static_etag_enc(const struct stat *st, enum static_enc enc, char *out);

/* The coding to answer with for an Accept-Encoding value V[0, LEN) (LEN 0:
 * the header is absent or empty) when the variants in AVAIL
 * (STATIC_HAS() bits) exist: the acceptable one with the highest q-value,
 * br before gzip before identity when equal. "x-gzip" is gzip; "*" covers
 * what is not named; identity is acceptable unless "identity;q=0", or
 * "*;q=0" without an identity entry, says otherwise, and comes last among
 * equals when not named. When nothing is acceptable: identity (we have
 * nothing else to send). Malformed elements are skipped. */
enum static_enc static_pick_encoding(const char *v, size_t len,
                                     unsigned avail);

/* Results of static_preconditions() besides "go on" (0). */
#define STATIC_NOT_MODIFIED      304
#define STATIC_PRECONDITION_FAIL 412

/* Evaluate the preconditions of GET or HEAD request R (its slices point
 * into DATA) against a representation with strong validator ETAG and
 * modification time MTIME, in RFC 9110 13.2.2 order: If-Match (strong
 * comparison, "*"), else If-Unmodified-Since; then If-None-Match (weak
 * comparison), else If-Modified-Since; then If-Range. Returns 0 to go on,
 * 304 or 412. *RANGE_OK says whether a Range header may apply (no
 * If-Range, or one that matches: the same strong tag, or exactly
 * Last-Modified). Invalid dates are ignored. */
int static_preconditions(const struct http_request *r, const char *data,
                         const char *etag, time_t mtime, bool *range_ok);

/* Open REL (from static_path_normalize; "" means root) beneath ROOT_FD,
 * refusing any escape through ".." or symlinks. Returns an fd, or a
 * negative errno (-ENOENT, -EXDEV, -ELOOP, -EACCES, ...). */
int static_open(int root_fd, const char *rel);

/* Answer the GET or HEAD request T for decoded PATH (NUL-terminated):
 * the head, and the body from the file cache, by sendfile from the file,
 * or in pieces (multipart ranges). A directory gets its index (301 without the trailing
 * slash); a file asked for with a trailing slash is 404. With gzip_static,
 * a variant the client accepts is served instead of the file (see
 * static_pick_encoding()), and every answer for a file that has one says
 * Vary: Accept-Encoding. Preconditions and ranges apply to what is served;
 * several ranges get a multipart/byteranges 206 unless that would be
 * larger than the file (then 200). HEAD gets the same head as GET. */
void static_file_serve(struct txn *t, const char *path);

#endif
