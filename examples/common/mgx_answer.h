/* mgx_answer.h — asking for an answer the driver post-processes (localize, labreport): like mgx_ask, but the
   answer is returned instead of printed, so stdout stays free for the driver's own result. */
#ifndef MGX_ANSWER_H
#define MGX_ANSWER_H
#include "mgx_cli.h"
#ifdef __cplusplus
extern "C" {
#endif
/* Builds the chat (system may be NULL), runs it in a fresh session with o's sampling options and returns the
   answer text in *answer (malloc'd, never NULL on success) and the thinking text in *thought (if thought is not
   NULL; "" when none). The answer is echoed to `echo` as it streams (NULL: silent), the thinking to stderr with
   --think. Returns 0 on success, -1 after printing the error. */
int mgx_answer(const mgx_opts *o, const mg_model *m, const char *system, const mg_chat_item *items, int n_items,
               FILE *echo, char **answer, char **thought);
#ifdef __cplusplus
}
#endif
#endif
