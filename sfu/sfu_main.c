/* Composition root: placeholder until the server is wired. */
int main(void) { return 0; }
