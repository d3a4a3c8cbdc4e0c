/* crypt_pool.c - libcrypt (yescrypt) in worker threads (see crypt_pool.h).
 * Jobs go in a mutex-protected FIFO; finished jobs go in another one and an
 * eventfd wakes the loop. Threads never touch libevent or connections.
 * SPDX-License-Identifier: MIT */
#include "crypt_pool.h"

#include <crypt.h>
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "defs.h"
#include "log.h"

#define CRYPT_POOL_MAX_THREADS 8
#define CRYPT_POOL_PW_MAX      256

enum { CRYPT_JOB_HASH, CRYPT_JOB_VERIFY };

struct crypt_job {
    struct crypt_job *next;
    uint64_t          id;
    int               kind;
    char              password[CRYPT_POOL_PW_MAX + 1];
    char              hash[CRYPT_POOL_HASH_MAX];    /* in (verify) / out (hash) */
    bool              ok;
    crypt_pool_cb     cb;
    void             *arg;
};

struct crypt_fifo {
    struct crypt_job *head, *tail;
};

static struct {
    pthread_mutex_t   lock;
    pthread_cond_t    cond;
    struct crypt_fifo todo, done;
    pthread_t         threads[CRYPT_POOL_MAX_THREADS];
    int               nthreads, started;
    bool              stopping;
    int               efd;
    struct event     *ev;
    /* loop thread only: */
    int               queued;       /* submitted, callback not yet run */
    int               max_jobs;
    uint64_t          next_id;
} CP = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER,
         .efd = -1 };

static void
crypt_fifo_push(struct crypt_fifo *f, struct crypt_job *j)
{
    j->next = NULL;
    if (f->tail != NULL)
        f->tail->next = j;
    else
        f->head = j;
    f->tail = j;
}

static struct crypt_job *
crypt_fifo_pop(struct crypt_fifo *f)
{
    struct crypt_job *j = f->head;

    if (j != NULL) {
        f->head = j->next;
        if (f->head == NULL)
            f->tail = NULL;
    }
    return j;
}

/* Constant-time string comparison of two NUL-terminated hashes. */
static bool
crypt_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = la != lb;

    for (size_t i = 0; i < la && i < lb; i++)
        diff |= (unsigned char) (a[i] ^ b[i]);
    return diff == 0;
}

static void
crypt_run(struct crypt_job *j, struct crypt_data *cd)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    const char *out;

    j->ok = false;
    if (j->kind == CRYPT_JOB_HASH) {
        /* NULL random bytes: libcrypt reads the OS's random source */
        if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) == NULL)
            return;
        out = crypt_rn(j->password, salt, cd, sizeof(*cd));
        if (out == NULL || out[0] == '*' || strlen(out) >= sizeof(j->hash))
            return;
        strcpy(j->hash, out);
        j->ok = true;
    } else {
        out = crypt_rn(j->password, j->hash, cd, sizeof(*cd));
        j->ok = out != NULL && out[0] != '*' && crypt_equal(out, j->hash);
    }
}

static void *
crypt_thread(void *arg)
{
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    uint64_t one = 1;

    UNUSED(arg);
    for (;;) {
        struct crypt_job *j;

        pthread_mutex_lock(&CP.lock);
        while (CP.todo.head == NULL && !CP.stopping)
            pthread_cond_wait(&CP.cond, &CP.lock);
        if (CP.stopping) {
            pthread_mutex_unlock(&CP.lock);
            break;
        }
        j = crypt_fifo_pop(&CP.todo);
        pthread_mutex_unlock(&CP.lock);

        if (cd != NULL)
            crypt_run(j, cd);
        else
            j->ok = false;
        explicit_bzero(j->password, sizeof(j->password));

        pthread_mutex_lock(&CP.lock);
        crypt_fifo_push(&CP.done, j);
        pthread_mutex_unlock(&CP.lock);
        if (write(CP.efd, &one, sizeof(one)) < 0) {
            /* the counter cannot overflow at our rates */
        }
    }
    free(cd);
    return NULL;
}

/* Loop side: run the callbacks of finished jobs. */
static void
crypt_done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct crypt_fifo done;
    struct crypt_job *j;
    uint64_t n;

    UNUSED(what);
    UNUSED(arg);
    if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        log_errno(LOG_ERR, errno, "read() from the crypt eventfd failed");
    pthread_mutex_lock(&CP.lock);
    done = CP.done;
    CP.done.head = CP.done.tail = NULL;
    pthread_mutex_unlock(&CP.lock);
    while ((j = crypt_fifo_pop(&done)) != NULL) {
        CP.queued--;
        j->cb(j->ok, j->hash, j->arg);
        free(j);
    }
}

int
crypt_pool_init(struct event_base *base, int nthreads, int max_jobs)
{
    CP.nthreads = nthreads < 1 ? 1 : nthreads > CRYPT_POOL_MAX_THREADS
                  ? CRYPT_POOL_MAX_THREADS : nthreads;
    CP.max_jobs = max_jobs < 1 ? 1 : max_jobs;
    CP.queued = 0;
    CP.next_id = 1;
    CP.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (CP.efd < 0) {
        log_errno(LOG_ERR, errno, "eventfd() failed");
        return RC_ERR;
    }
    CP.ev = event_new(base, CP.efd, EV_READ | EV_PERSIST, crypt_done_cb, NULL);
    if (CP.ev == NULL || event_add(CP.ev, NULL) < 0)
        return RC_ERR;
    return RC_OK;
}

static int
crypt_pool_start(void)
{
    sigset_t all, old;

    if (CP.started > 0)
        return RC_OK;
    /* signals belong to the loop thread */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (int i = 0; i < CP.nthreads; i++) {
        if (pthread_create(&CP.threads[i], NULL, crypt_thread, NULL) != 0) {
            log_msg(LOG_ERR, "pthread_create() failed");
            break;
        }
        CP.started++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return CP.started > 0 ? RC_OK : RC_ERR;
}

static int
crypt_pool_submit(int kind, const char *password, size_t len, const char *hash,
                  crypt_pool_cb cb, void *arg, uint64_t *id)
{
    struct crypt_job *j;

    if (len > CRYPT_POOL_PW_MAX || CP.ev == NULL || crypt_pool_start() != RC_OK)
        return RC_ERR;
    /* CPU work is bounded: a burst beyond it is refused, not queued for
     * clients that may be long gone by the time a thread gets to it */
    if (CP.queued >= CP.max_jobs)
        return RC_AGAIN;
    j = calloc(1, sizeof(*j));
    if (j == NULL)
        return RC_ERR;
    j->kind = kind;
    memcpy(j->password, password, len);
    j->password[len] = '\0';
    if (hash != NULL) {
        if (strlen(hash) >= sizeof(j->hash)) {
            free(j);
            return RC_ERR;
        }
        strcpy(j->hash, hash);
    }
    j->cb = cb;
    j->arg = arg;
    j->id = CP.next_id++;
    *id = j->id;
    CP.queued++;
    pthread_mutex_lock(&CP.lock);
    crypt_fifo_push(&CP.todo, j);
    pthread_cond_signal(&CP.cond);
    pthread_mutex_unlock(&CP.lock);
    log_msg(LOG_DEBUG, "password job %llu queued (%d waiting or running)",
            (unsigned long long) j->id, CP.queued);
    return RC_OK;
}

int
crypt_pool_hash(const char *password, size_t len, crypt_pool_cb cb, void *arg,
                uint64_t *id)
{
    return crypt_pool_submit(CRYPT_JOB_HASH, password, len, NULL, cb, arg, id);
}

void
crypt_pool_cancel(uint64_t id)
{
    struct crypt_job *j, *prev = NULL;
    uint64_t one = 1;

    pthread_mutex_lock(&CP.lock);
    for (j = CP.todo.head; j != NULL; prev = j, j = j->next) {
        if (j->id == id)
            break;
    }
    if (j == NULL) {
        pthread_mutex_unlock(&CP.lock);
        return;                 /* running or done: too late to save work */
    }
    if (prev != NULL)
        prev->next = j->next;
    else
        CP.todo.head = j->next;
    if (CP.todo.tail == j)
        CP.todo.tail = prev;
    explicit_bzero(j->password, sizeof(j->password));
    j->ok = false;
    j->hash[0] = '\0';
    crypt_fifo_push(&CP.done, j);
    pthread_mutex_unlock(&CP.lock);
    log_msg(LOG_INFO, "password job %llu cancelled before it ran: its "
            "request is gone", (unsigned long long) id);
    /* the callback runs from the loop, never from inside this call */
    if (write(CP.efd, &one, sizeof(one)) < 0) {
        /* the counter cannot overflow at our rates */
    }
}

int
crypt_pool_queued(void)
{
    return CP.queued;
}

int
crypt_pool_verify(const char *password, size_t len, const char *hash,
                  crypt_pool_cb cb, void *arg, uint64_t *id)
{
    /* a well-formed yescrypt hash of a random password nobody knows */
    static const char dummy[] =
        "$y$j9T$JZ/32Z5s9/3Gsv.EQd42J.$ZisoLcaAM2/cYOHKcXuv1d3WvkhR6UhhBbuMUaoE93A";

    return crypt_pool_submit(CRYPT_JOB_VERIFY, password, len,
                             hash != NULL ? hash : dummy, cb, arg, id);
}

void
crypt_pool_deinit(void)
{
    struct crypt_job *j;

    pthread_mutex_lock(&CP.lock);
    CP.stopping = true;
    pthread_cond_broadcast(&CP.cond);
    pthread_mutex_unlock(&CP.lock);
    for (int i = 0; i < CP.started; i++)
        pthread_join(CP.threads[i], NULL);
    CP.started = 0;
    /* every job gets its answer, so callers free what they hold */
    while ((j = crypt_fifo_pop(&CP.done)) != NULL) {
        CP.queued--;
        j->cb(j->ok, j->hash, j->arg);
        free(j);
    }
    while ((j = crypt_fifo_pop(&CP.todo)) != NULL) {
        CP.queued--;
        j->cb(false, "", j->arg);
        free(j);
    }
    if (CP.ev != NULL)
        event_free(CP.ev);
    CP.ev = NULL;
    if (CP.efd >= 0)
        close(CP.efd);
    CP.efd = -1;
}
