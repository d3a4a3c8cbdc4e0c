/* form_page.h - the site's own login and register pages, shown again with
 * a message when a form is refused: the message beside the field it is
 * about, the username kept, no script. The pages are the site's files
 * (ROOT/login.html, ROOT/register.html), so there is one source of their
 * markup; they carry markers where messages go:
 *   <!--form-message-->       above the form (wrong password, throttled)
 *   <!--username-message-->   beside the username field
 *   <!--password-message-->   beside the password field
 * and the username input's value goes after its name="username". A site
 * without such a page (or marker) gets the plain error page instead.
 * Worker only; single-threaded.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_FORM_PAGE_H
#define WORKER_FORM_PAGE_H

struct txn;

enum form_page {
    FORM_PAGE_LOGIN = 0,
    FORM_PAGE_REGISTER
};

enum form_page_field {
    FORM_PAGE_FORM = 0,         /* the form as a whole */
    FORM_PAGE_USERNAME,
    FORM_PAGE_PASSWORD
};

/* Read the two pages under ROOT_FD (each up to 16 KiB). Once per worker;
 * missing pages are no error. */
void form_page_load(int root_fd);
void form_page_free(void);

/* Answer T with STATUS and PAGE shown again: MESSAGE (plain text, escaped
 * here) at FIELD and USER (may be NULL) in the username field. EXTRA: more
 * header lines or NULL. Without the page, the error page for STATUS. */
void form_page_respond(struct txn *t, enum form_page page, int status,
                       enum form_page_field field, const char *message,
                       const char *user, const char *extra);

#endif
