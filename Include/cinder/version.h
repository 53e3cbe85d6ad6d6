/* Cinder's own version, reported by the cinder module and the build. */
#ifndef CINDER_VERSION_H
#define CINDER_VERSION_H

#define CINDER_VERSION "0.1.0"

#endif /* CINDER_VERSION_H */
