/* Returns 7 whatever happens to the profile: a failed write must not change
 * the program's exit status. */
static volatile int seven_value = 7; /* read at run time: the call cannot be folded away */

__attribute__((noinline)) int seven(void) { return seven_value; }

int main(void) { return seven(); }
