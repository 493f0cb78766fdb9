// libyaml (the reference C YAML 1.1 parser), from Debian's libyaml-dev. The rule loader
// uses its event API only (yaml_parser_parse) and composes nodes itself.
#include <yaml.h>
