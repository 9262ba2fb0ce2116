/*
 * curl-replay: make bench's measured ceiling for a libcurl-based sender on this machine.
 *
 * Sends one pre-built message of SIZE bytes COUNT times to an SMTP server over CONNECTIONS
 * connections, with libcurl's easy interface the way newsletter's SMTPTransport uses it: one
 * handle per connection, configured once and reused, and per message only MAIL FROM, RCPT TO
 * (one recipient, a list made per message) and the upload's size set before curl_easy_perform.
 * No ledger, no personalisation, no encoding: what is left is libcurl, the SMTP round trips and
 * the sink, which every sender built on libcurl pays.
 *
 * With --ledger PATH it also records each message in a SQLite ledger (WAL, synchronous=NORMAL,
 * as newsletter's store): COUNT rows made pending first, then one UPDATE committed per message
 * after its 250, one writer at a time. That is what the no-duplicates guarantee costs a sender
 * that commits one message at a time.
 *
 * With --debug-callback it turns on CURLOPT_VERBOSE with a debug callback that copies the
 * SMTP conversation's lines, as SMTPTransport does to read the server's replies: what reading
 * the replies that way costs.
 *
 * Prints one line: messages=N seconds=S per_second=R. Exits 1 on any failure (naming it).
 *
 *   cc -O2 -o curl-replay curl-replay.c -lcurl -lsqlite3 -lpthread
 *   curl-replay smtp://127.0.0.1:2525 30716 2000 4 [--ledger /tmp/ledger.sqlite] [--debug-callback]
 */
#include <curl/curl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct run {
    const char *url;
    const char *message;
    size_t size;
    long count;
    atomic_long next;
    atomic_int failed;
    int debug_callback;
    sqlite3 *ledger;            /* NULL: no ledger */
    sqlite3_stmt *record;       /* UPDATE ... WHERE id = ?, under ledger_lock */
    pthread_mutex_t ledger_lock;
};

struct upload {
    const char *data;
    size_t size;
    size_t offset;
};

static size_t read_upload(char *buffer, size_t size, size_t count, void *context) {
    struct upload *upload = context;
    size_t length = size * count;
    if (length > upload->size - upload->offset) length = upload->size - upload->offset;
    memcpy(buffer, upload->data + upload->offset, length);
    upload->offset += length;
    return length;
}

/* Keeps the last line the server sent, as a reply parser would. */
struct conversation {
    char last_reply[512];
    long lines;
};

static int copy_conversation(CURL *handle, curl_infotype type, char *data, size_t size, void *context) {
    (void)handle;
    struct conversation *conversation = context;
    if (type != CURLINFO_HEADER_IN && type != CURLINFO_HEADER_OUT) return 0;
    size_t length = size < sizeof conversation->last_reply - 1 ? size : sizeof conversation->last_reply - 1;
    if (type == CURLINFO_HEADER_IN) {
        memcpy(conversation->last_reply, data, length);
        conversation->last_reply[length] = 0;
    }
    conversation->lines++;
    return 0;
}

static int fail(struct run *run, const char *what, const char *why) {
    fprintf(stderr, "curl-replay: %s: %s\n", what, why);
    atomic_store(&run->failed, 1);
    return 0;
}

#define SET(handle, option, value)                                                      \
    do {                                                                                \
        CURLcode code_ = curl_easy_setopt(handle, option, value);                       \
        if (code_ != CURLE_OK) return fail(run, #option, curl_easy_strerror(code_)), NULL; \
    } while (0)

static void *connection(void *context) {
    struct run *run = context;
    struct upload upload = {run->message, run->size, 0};
    char error[CURL_ERROR_SIZE] = "";
    CURL *curl = curl_easy_init();
    if (!curl) return fail(run, "curl_easy_init", "failed"), NULL;
    /* Once per connection, as SMTPTransport.Session does. */
    SET(curl, CURLOPT_URL, run->url);
    SET(curl, CURLOPT_ERRORBUFFER, error);
    SET(curl, CURLOPT_NOSIGNAL, 1L);
    SET(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    SET(curl, CURLOPT_SERVER_RESPONSE_TIMEOUT, 30L);
    SET(curl, CURLOPT_TIMEOUT, 120L);
    SET(curl, CURLOPT_UPLOAD, 1L);
    SET(curl, CURLOPT_READFUNCTION, read_upload);
    SET(curl, CURLOPT_READDATA, &upload);
    struct conversation conversation = {"", 0};
    if (run->debug_callback) {
        SET(curl, CURLOPT_VERBOSE, 1L);
        SET(curl, CURLOPT_DEBUGFUNCTION, copy_conversation);
        SET(curl, CURLOPT_DEBUGDATA, &conversation);
    }

    for (;;) {
        long index = atomic_fetch_add(&run->next, 1);
        if (index >= run->count || atomic_load(&run->failed)) break;
        char recipient[64];
        snprintf(recipient, sizeof recipient, "<reader%ld@example.org>", index);
        struct curl_slist *recipients = curl_slist_append(NULL, recipient);
        if (!recipients) return fail(run, "curl_slist_append", "out of memory"), NULL;
        /* Per message, as SMTPTransport.Session.send does: the envelope and the upload. */
        SET(curl, CURLOPT_MAIL_FROM, "<digest@shiporskip.example>");
        SET(curl, CURLOPT_MAIL_RCPT, recipients);
        SET(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)run->size);
        upload.offset = 0;
        error[0] = 0;
        CURLcode code = curl_easy_perform(curl);
        curl_slist_free_all(recipients);
        if (code != CURLE_OK) {
            fail(run, recipient, error[0] ? error : curl_easy_strerror(code));
            break;
        }
        if (run->ledger) {
            pthread_mutex_lock(&run->ledger_lock);
            sqlite3_bind_int64(run->record, 1, index + 1);
            int step = sqlite3_step(run->record);
            sqlite3_reset(run->record);
            pthread_mutex_unlock(&run->ledger_lock);
            if (step != SQLITE_DONE) {
                fail(run, "the ledger's UPDATE", sqlite3_errmsg(run->ledger));
                break;
            }
        }
    }
    curl_easy_cleanup(curl); /* sends QUIT */
    return NULL;
}

static int exec(sqlite3 *db, const char *sql) {
    char *message = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &message) == SQLITE_OK) return 1;
    fprintf(stderr, "curl-replay: ledger: %s: %s\n", sql, message ? message : "failed");
    sqlite3_free(message);
    return 0;
}

/* A fresh ledger with `count` pending rows, in one transaction (newsletter prepares its own so). */
static int open_ledger(struct run *run, const char *path) {
    remove(path);
    if (sqlite3_open(path, &run->ledger) != SQLITE_OK) {
        fprintf(stderr, "curl-replay: %s: %s\n", path, sqlite3_errmsg(run->ledger));
        return 0;
    }
    if (!exec(run->ledger, "PRAGMA journal_mode = WAL") || !exec(run->ledger, "PRAGMA synchronous = NORMAL") ||
        !exec(run->ledger,
              "CREATE TABLE delivery (id INTEGER PRIMARY KEY, state TEXT NOT NULL, reply TEXT, sentAt TEXT)") ||
        !exec(run->ledger, "BEGIN"))
        return 0;
    sqlite3_stmt *insert;
    if (sqlite3_prepare_v2(run->ledger, "INSERT INTO delivery (id, state) VALUES (?, 'pending')", -1, &insert,
                           NULL) != SQLITE_OK)
        return fprintf(stderr, "curl-replay: ledger: %s\n", sqlite3_errmsg(run->ledger)), 0;
    for (long id = 1; id <= run->count; id++) {
        sqlite3_bind_int64(insert, 1, id);
        if (sqlite3_step(insert) != SQLITE_DONE)
            return fprintf(stderr, "curl-replay: ledger: %s\n", sqlite3_errmsg(run->ledger)), 0;
        sqlite3_reset(insert);
    }
    sqlite3_finalize(insert);
    if (!exec(run->ledger, "COMMIT")) return 0;
    if (sqlite3_prepare_v2(run->ledger,
                           "UPDATE delivery SET state = 'sent', reply = '250 2.0.0 Ok', "
                           "sentAt = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE id = ? AND state = 'pending'",
                           -1, &run->record, NULL) != SQLITE_OK)
        return fprintf(stderr, "curl-replay: ledger: %s\n", sqlite3_errmsg(run->ledger)), 0;
    return 1;
}

/* One message of exactly `size` bytes: a few headers, then 76-character lines of text. */
static char *build_message(size_t size) {
    const char *headers = "From: Ship or Skip Weekly <digest@shiporskip.example>\r\n"
                          "To: <reader@example.org>\r\n"
                          "Subject: curl-replay\r\n"
                          "MIME-Version: 1.0\r\n"
                          "Content-Type: text/plain; charset=us-ascii\r\n"
                          "\r\n";
    size_t length = strlen(headers); /* less than the smallest size main accepts */
    char *message = malloc(size);
    if (!message) return NULL;
    memcpy(message, headers, length);
    size_t column = 0;
    for (size_t at = length; at < size - 2; at++) {
        if (column == 76 && at + 2 < size - 2) {
            message[at++] = '\r';
            message[at] = '\n';
            column = 0;
        } else {
            message[at] = 'x';
            column++;
        }
    }
    message[size - 2] = '\r';
    message[size - 1] = '\n';
    return message;
}

int main(int argc, char **argv) {
    const char *usage = "usage: %s URL SIZE COUNT CONNECTIONS [--ledger PATH] [--debug-callback]\n";
    if (argc < 5) return fprintf(stderr, usage, argv[0]), 64;
    struct run run = {.url = argv[1], .size = strtoul(argv[2], NULL, 10), .count = strtol(argv[3], NULL, 10)};
    const char *ledger_path = NULL;
    for (int i = 5; i < argc; i++) {
        if (strcmp(argv[i], "--ledger") == 0 && i + 1 < argc) ledger_path = argv[++i];
        else if (strcmp(argv[i], "--debug-callback") == 0) run.debug_callback = 1;
        else return fprintf(stderr, usage, argv[0]), 64;
    }
    int connections = atoi(argv[4]);
    if (run.size < 256 || run.count <= 0 || connections <= 0 || connections > 256) {
        fprintf(stderr, "curl-replay: SIZE (at least 256), COUNT and CONNECTIONS (1-256) must be numbers\n");
        return 64;
    }
    atomic_init(&run.next, 0);
    atomic_init(&run.failed, 0);
    pthread_mutex_init(&run.ledger_lock, NULL);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return fprintf(stderr, "curl-replay: curl_global_init\n"), 1;
    char *message = build_message(run.size);
    if (!message) return fprintf(stderr, "curl-replay: out of memory\n"), 1;
    run.message = message;

    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (ledger_path && !open_ledger(&run, ledger_path)) return 1;
    pthread_t threads[256];
    for (int i = 0; i < connections; i++) {
        if (pthread_create(&threads[i], NULL, connection, &run) != 0) {
            fprintf(stderr, "curl-replay: pthread_create failed\n");
            return 1;
        }
    }
    for (int i = 0; i < connections; i++) pthread_join(threads[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &end);

    if (run.ledger) {
        sqlite3_finalize(run.record);
        sqlite3_close(run.ledger);
    }
    free(message);
    curl_global_cleanup();
    if (atomic_load(&run.failed)) return 1;
    double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    printf("messages=%ld seconds=%.3f per_second=%.0f\n", run.count, seconds, (double)run.count / seconds);
    return 0;
}
