# check_layers.cmake - fails when a file in worker/ includes a header of a
# layer above its own (STYLE.md, "Layers inside the worker"). Run by ctest:
#   cmake -DWORKER_DIR=<worker/> -DCOMMON_DIR=<common/> -P check_layers.cmake
# Reads the #include "..." lines of worker/*.c and worker/*.h; a .c file
# has the layer of its header. Headers of common/ are the base, which every
# layer may use. A header that is in neither this table nor common/ is an
# error too, so a new module must be given its place here.
# SPDX-License-Identifier: MIT
cmake_minimum_required(VERSION 3.20)

# layer -> the modules (file names without extension) in it
set(L_base      worker_ctx http_parse http_response http_util timer file_cache file_watch site_nav http_chunked
                redis_client redis_lookup redis_sentinel crypt_pool access_log
                proxy_proto forwarded)
set(L_transport transport transport_plain transport_tls)
set(L_conn      conn conn_addr conn_respond conn_pool conn_poll)
set(L_txn       txn)
set(L_handlers  static_file static_cond session session_lua form_page status)
set(L_router    router)
set(L_worker    worker)

# layer -> the layers its files may include (besides common/ headers)
set(A_base      base)
set(A_transport base transport)
set(A_conn      base transport conn)
set(A_txn       base conn txn)
set(A_handlers  base txn handlers)
set(A_router    base txn handlers router)
set(A_worker    base transport conn txn handlers router worker)

set(layers base transport conn txn handlers router worker)

if(NOT WORKER_DIR OR NOT COMMON_DIR)
    message(FATAL_ERROR "usage: cmake -DWORKER_DIR=... -DCOMMON_DIR=... -P check_layers.cmake")
endif()

function(layer_of module out)
    set(found "")
    foreach(l ${layers})
        if(module IN_LIST L_${l})
            set(found ${l})
        endif()
    endforeach()
    set(${out} "${found}" PARENT_SCOPE)
endfunction()

file(GLOB common_headers RELATIVE ${COMMON_DIR} ${COMMON_DIR}/*.h)
file(GLOB files RELATIVE ${WORKER_DIR} ${WORKER_DIR}/*.c ${WORKER_DIR}/*.h)
list(SORT files)
set(errors 0)
set(checked 0)

foreach(f ${files})
    get_filename_component(mod ${f} NAME_WE)
    layer_of(${mod} layer)
    if(layer STREQUAL "")
        message(SEND_ERROR "worker/${f}: module '${mod}' has no layer in check_layers.cmake")
        math(EXPR errors "${errors} + 1")
        continue()
    endif()
    file(STRINGS ${WORKER_DIR}/${f} incs REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
    foreach(line ${incs})
        string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"]+)\".*" "\\1" h "${line}")
        math(EXPR checked "${checked} + 1")
        if(h IN_LIST common_headers)
            continue()
        endif()
        get_filename_component(hmod ${h} NAME_WE)
        layer_of(${hmod} hlayer)
        if(hlayer STREQUAL "")
            message(SEND_ERROR "worker/${f}: includes \"${h}\", which is in no layer")
            math(EXPR errors "${errors} + 1")
        elseif(NOT hlayer IN_LIST A_${layer})
            message(SEND_ERROR "worker/${f} (${layer}) includes \"${h}\" (${hlayer}): "
                    "the ${layer} layer may include only: ${A_${layer}}")
            math(EXPR errors "${errors} + 1")
        endif()
    endforeach()
endforeach()

if(errors GREATER 0)
    message(FATAL_ERROR "${errors} layering violation(s)")
endif()
list(LENGTH files nfiles)
message(STATUS "layers ok: ${nfiles} files, ${checked} includes")
