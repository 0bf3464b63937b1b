# Cross build of the static installer for arm64 nodes with Debian's multiarch toolchain
# (crossbuild-essential-arm64 and the :arm64 -dev packages; scripts/setup installs them):
#   cmake -S . -B build-arm64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DPI_INSTALLER_ONLY=ON
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# Libraries and pkg-config from the arm64 multiarch folders; header-only packages and CMake package
# files (nlohmann_json, CLI11, yaml-cpp's config) from the usual places.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
# yaml-cpp: libyaml-cpp-dev cannot be installed for two architectures at once, so scripts/setup unpacks
# the arm64 package's static library into <build>/deps; its headers are the amd64 package's (the same).
set(PI_CROSS_LIBDIR "${CMAKE_BINARY_DIR}/deps/usr/lib/aarch64-linux-gnu")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-L${PI_CROSS_LIBDIR}")
