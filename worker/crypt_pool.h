/* crypt_pool.h - password hashing off the event loop. yescrypt is slow on
 * purpose (tens of ms); a few threads per worker do it, and results come
 * back to the loop through an eventfd, so static requests keep flowing
 * while people log in. Worker only: the API is called from the loop thread,
 * callbacks run on the loop thread.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_CRYPT_POOL_H
#define WORKER_CRYPT_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRYPT_POOL_HASH_MAX 256

/* OK: for a hash job, HASH holds the new hash; for a verify job, whether
 * the password matched. !OK on an internal error (or a mismatch). */
typedef void (*crypt_pool_cb)(bool ok, const char *hash, void *arg);

struct event_base;

/* Prepare NTHREADS threads (started on first use); at most MAX_JOBS jobs
 * are waiting or running at once. Returns RC_OK/RC_ERR. */
int crypt_pool_init(struct event_base *base, int nthreads, int max_jobs);

/* Stop the threads (waiting for the jobs they run); finished jobs get
 * their callbacks, queued ones a callback with OK false. */
void crypt_pool_deinit(void);

/* Hash PASSWORD (LEN bytes, copied) with a fresh salt. Returns RC_OK
 * (*ID names the job for crypt_pool_cancel()), RC_AGAIN when MAX_JOBS are
 * already queued (answer 503), or RC_ERR; CB is called only after RC_OK. */
int crypt_pool_hash(const char *password, size_t len, crypt_pool_cb cb,
                    void *arg, uint64_t *id);

/* Check PASSWORD against HASH (copied). HASH NULL checks against a dummy
 * hash, so an unknown user costs as much time as a known one. Results as
 * crypt_pool_hash(). */
int crypt_pool_verify(const char *password, size_t len, const char *hash,
                      crypt_pool_cb cb, void *arg, uint64_t *id);

/* The job ID is not wanted any more (its client went away): if no thread
 * has taken it yet it is skipped, its callback still comes (OK false) so
 * the caller frees what it holds. A job already running, or done, is left
 * alone. */
void crypt_pool_cancel(uint64_t id);

/* Jobs waiting or running now. */
int crypt_pool_queued(void);

#endif
