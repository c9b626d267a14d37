// CCurl: HTTPS through libcurl loaded with dlopen on first use, so the batchctl binary links no TLS stack and
// starts fast; plain http:// never comes here.
#ifndef CCURL_H
#define CCURL_H

#include <stddef.h>

typedef struct ccurl_result {
    long status;              /* HTTP status; 0 when there was no answer */
    int curl_code;            /* 0 on success, else libcurl's CURLcode */
    int timed_out;            /* 1 when the failure was a timeout */
    char *headers;            /* raw header lines of the answer (malloc'ed, NUL-terminated) */
    size_t headers_len;
    char *body;               /* the answer's body when it did not go to the sink (malloc'ed) */
    size_t body_len;
    long long received;       /* bytes written to the sink */
    char error[320];
} ccurl_result;

typedef void (*ccurl_progress_fn)(void *context, long long done, long long total);

/* 1 when libcurl could be loaded; otherwise 0 and `why` says what is missing. */
int ccurl_available(char *why, size_t why_len);

/* One request. `body` (body_len bytes) or `upload_path` (upload_size bytes) is the request body, or neither.
   A 2xx body goes to `sink_fd` when it is >= 0, otherwise into `out->body` (refused past max_body bytes).
   `stall_seconds` fails the transfer when no byte moves for that long; `total_seconds` (0 = none) bounds it.
   Returns 0 when an HTTP answer arrived (any status), -1 otherwise (see out->error). */
int ccurl_perform(const char *method, const char *url, const char *const *headers, int header_count,
                  const void *body, size_t body_len, const char *upload_path, long long upload_size,
                  int sink_fd, size_t max_body, double stall_seconds, double total_seconds,
                  ccurl_progress_fn progress, void *context, ccurl_result *out);

void ccurl_result_free(ccurl_result *result);

#endif
