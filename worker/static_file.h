/* static_file.h - serving files under root: path normalisation that cannot
 * leave root, openat2(RESOLVE_BENEATH), MIME types, validators, conditional
 * and range requests, sendfile bodies. Worker only.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_STATIC_FILE_H
#define WORKER_STATIC_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#define STATIC_ETAG_MAX 48

struct conn;

/* Turn a decoded absolute path ("/a/./b/../c/") into a path relative to
 * root ("a/c") in OUT (room for strlen(IN) + 1): no leading slash, no "."
 * or ".." or empty segments. *DIR_SLASH tells whether IN ended with '/'.
 * Returns RC_OK; 400 when IN is not absolute or ".." climbs above root;
 * 404 for a hidden segment (".name"; "/.well-known" is allowed). */
int static_path_normalize(const char *in, char *out, bool *dir_slash);

/* MIME type for PATH by extension (text types carry charset=utf-8);
 * "application/octet-stream" when unknown. */
const char *static_mime_type(const char *path);

/* Strong validator from size and mtime: "\"<mtime ns hex>-<size hex>\"". */
void static_etag(const struct stat *st, char *out);

/* Open REL (from static_path_normalize; "" means root) beneath ROOT_FD,
 * refusing any escape through ".." or symlinks. Returns an fd, or a
 * negative errno (-ENOENT, -EXDEV, -ELOOP, -EACCES, ...). */
int static_open(int root_fd, const char *rel);

/* Answer the GET or HEAD request on C for decoded PATH (NUL-terminated):
 * fills the conn's response (head in wbuf, body as file range) and moves it
 * to CONN_WRITING. */
void static_file_serve(struct conn *c, const char *path);

#endif
