"""tools/oci's public API: load everything from here; tools/oci/private/ may change without notice.

Rule names and most attributes follow rules_oci (oci_image, oci_load, oci_push), but this is not rules_oci: see
tools/oci/README.md for what a migration would change, target by target.
"""

load("//tools/oci/private:image.bzl", _oci_image = "oci_image")
load(
    "//tools/oci/private:layers.bzl",
    _debian_layer = "debian_layer",
    _py_app_layer = "py_app_layer",
    _py_wheels_layer = "py_wheels_layer",
)
load("//tools/oci/private:load.bzl", _oci_load = "oci_load")
load("//tools/oci/private:providers.bzl", _OciImageInfo = "OciImageInfo", _OciLayerInfo = "OciLayerInfo")
load("//tools/oci/private:push.bzl", _oci_push = "oci_push")

OciImageInfo = _OciImageInfo
OciLayerInfo = _OciLayerInfo

oci_image = _oci_image
oci_load = _oci_load
oci_push = _oci_push

debian_layer = _debian_layer
py_app_layer = _py_app_layer
py_wheels_layer = _py_wheels_layer
