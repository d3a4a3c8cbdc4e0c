/* file_watch.h - inotify watches for the file cache (file_cache.h): the
 * kernel tells the worker when a cached file, or the way its path
 * resolves, changes, so a cache hit needs no fstatat().
 *
 * A file is watched for changes to itself (content, attributes, links:
 * a write, a touch, a rename over it or an unlink), and every directory on
 * its path, root included, for changes to its entries (create, delete,
 * rename, attributes), since a renamed directory or a new entry can make
 * the path name another file. Paths must be free of symbolic links (the
 * cache checks that, and checks the others on every hit), so nothing
 * outside the watched directories decides where they lead.
 *
 * Events are read by the worker's loop at the highest priority, before any
 * connection of the same loop turn: a request read after a change was
 * complete sees it (file_cache.h says what that means exactly).
 *
 * Watches are never removed one by one; when FILE_WATCH_MAX of them exist
 * they are all removed at once, and the cache starts over. Worker only;
 * single-threaded.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_FILE_WATCH_H
#define WORKER_FILE_WATCH_H

/* Watches per worker before they are all removed (the kernel's limit,
 * fs.inotify.max_user_watches, is per user, shared by all workers). */
#define FILE_WATCH_MAX 4096

/* What file_watch_drain() reports: a file's watch id, or this for "any
 * file may have changed" (a directory changed, or events were lost). */
#define FILE_WATCH_ALL (-1)

/* Set up an inotify instance for paths below ROOT_FD (kept, not owned).
 * RC_OK, or RC_ERR when inotify is not available (logged once; nothing is
 * watched then and file_watch_add() always fails). */
int file_watch_open(int root_fd);

/* Remove every watch and close the instance. Safe to call at any time. */
void file_watch_close(void);

/* The descriptor to wait on for readability, or -1 when not open. */
int file_watch_fd(void);

/* Watch FILE (below root, no symbolic links on its path) and every
 * directory on its path. Returns the file's watch id (> 0; the same for
 * every path to one file), or RC_ERR when it cannot be watched (no
 * inotify, the kernel's watch limit); RC_AGAIN when every watch was just
 * removed to make room: the caller drops what it knew and tries again. */
int file_watch_add(const char *file);

/* Read every pending event and call CB once per file watch id that
 * changed, or once with FILE_WATCH_ALL (then nothing else) when a
 * directory changed or the queue overflowed. Never blocks. */
void file_watch_drain(void (*cb)(int id));

#endif
