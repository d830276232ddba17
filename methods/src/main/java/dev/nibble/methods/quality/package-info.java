/** The quality report: synthetic DiT-like activations, rotation and per-method layer-level tables (docs/quality.md). */
package dev.nibble.methods.quality;
