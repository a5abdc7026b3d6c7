/* Read all of stdin: count lines, words and bytes, echo it upper-cased. */
#include <stdio.h>
#include <ctype.h>

int main(void) {
    long lines = 0, words = 0, bytes = 0;
    int c, in_word = 0;
    while ((c = getchar()) != EOF) {
        bytes++;
        if (c == '\n') lines++;
        if (isspace(c)) in_word = 0;
        else if (!in_word) { in_word = 1; words++; }
        putchar(toupper(c));
    }
    printf("\nlines=%ld words=%ld bytes=%ld\n", lines, words, bytes);
    return 0;
}
