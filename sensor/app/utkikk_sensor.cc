// utkikk-sensor: placeholder until the pipeline lands.
int main() { return 0; }
