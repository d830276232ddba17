/** File output shared by every module: atomic replacement of a file (internal, not for applications). */
package dev.nibble.api.io;
