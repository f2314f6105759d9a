/* Text helpers of the data module's file readers (private to src/data). */
#ifndef WSSS_DATA_TEXT_INTERNAL_H
#define WSSS_DATA_TEXT_INTERNAL_H

/* s without leading and trailing white space (the end cut in place). */
char *wsss_text_trim(char *s);

#endif
