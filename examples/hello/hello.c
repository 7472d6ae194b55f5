#include <stdio.h>

int main(void) {
  printf("hello from the pipeline\n");
  return 0;
}
