/* A handler that reaches into the connection: check_layers.cmake must
 * reject this (test_layers_catches_violation). Never compiled. */
#include "static_file.h"

#include "conn.h"
#include "txn.h"
