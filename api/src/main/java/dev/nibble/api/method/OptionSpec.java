package dev.nibble.api.method;

import static org.apiguardian.api.API.Status.STABLE;

import org.apiguardian.api.API;

/**
 * One option a method accepts.
 *
 * @param name the key, e.g. {@code group-size}
 * @param defaultValue the default, as text (the paper's value)
 * @param description what it does
 */
@API(status = STABLE, since = "0.1")
public record OptionSpec(String name, String defaultValue, String description) {
}
