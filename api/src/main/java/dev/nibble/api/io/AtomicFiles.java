package dev.nibble.api.io;

import static org.apiguardian.api.API.Status.INTERNAL;

import dev.nibble.api.OutputWriteException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import org.apiguardian.api.API;

/**
 * The one way Nibble writes a file: into a temporary file in the target's directory, forced to the
 * disk, then renamed atomically onto the target (and the directory forced so the rename survives a
 * crash). A failure at any step deletes the temporary file and leaves the target as it was; a
 * process killed mid-write leaves at most a hidden {@code .<name>.*.tmp} beside it, never a partial
 * file under the target's name.
 */
@API(status = INTERNAL, since = "0.1")
public final class AtomicFiles {
    /** Writes a file's content into an open channel. */
    @FunctionalInterface
    public interface Content {
        /**
         * @param out the temporary file, positioned at 0
         * @throws IOException if writing fails
         */
        void writeTo(FileChannel out) throws IOException;
    }

    private AtomicFiles() {
    }

    /**
     * @param target the file to create or replace
     * @param content writes the bytes
     * @return the target
     * @throws OutputWriteException naming the target if anything fails; the target is then unchanged
     */
    public static Path write(Path target, Content content) {
        Path abs = target.toAbsolutePath();
        Path tmp = null;
        try {
            Path dir = abs.getParent();
            Files.createDirectories(dir);
            tmp = temporary(abs);
            try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                content.writeTo(out);
                out.force(true);
            }
            keepPermissions(tmp, abs);
            Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            tmp = null;
            forceDirectory(dir);
            return target;
        } catch (IOException e) {
            throw new OutputWriteException(target, e);
        } finally {
            if (tmp != null) {
                deleteQuietly(tmp);
            }
        }
    }

    /**
     * @param target the file to create or replace
     * @param bytes its content
     * @return the target
     */
    public static Path write(Path target, byte[] bytes) {
        return write(target, out -> writeFully(out, ByteBuffer.wrap(bytes)));
    }

    /**
     * @param target the file to create or replace
     * @param text its content, written as UTF-8
     * @return the target
     */
    public static Path writeString(Path target, String text) {
        return write(target, text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * A temporary file beside the target ({@code .<name>.<random>.tmp}), for writers that stage parts.
     *
     * @param target the final file
     * @return a new empty file in the target's directory
     * @throws IOException if it cannot be created
     */
    public static Path temporary(Path target) throws IOException {
        Path abs = target.toAbsolutePath();
        return Files.createTempFile(abs.getParent(), "." + abs.getFileName() + ".", ".tmp");
    }

    /**
     * @param out a channel
     * @param b bytes to write completely
     * @throws IOException if writing fails
     */
    public static void writeFully(FileChannel out, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            out.write(b);
        }
    }

    /** @param p a file to delete, ignoring failure (a leftover temporary file is harmless) */
    public static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // the target is intact either way
        }
    }

    /**
     * A temporary file is created owner-only (rw-------); the file a user gets keeps the
     * permissions of the file it replaces, or the usual rw-r--r-- for a new one.
     */
    private static void keepPermissions(Path tmp, Path target) throws IOException {
        if (!Files.getFileStore(tmp).supportsFileAttributeView(PosixFileAttributeView.class)) {
            return;
        }
        Set<PosixFilePermission> perms = Files.exists(target)
                ? Files.getPosixFilePermissions(target)
                : PosixFilePermissions.fromString("rw-r--r--");
        Files.setPosixFilePermissions(tmp, perms);
    }

    private static void forceDirectory(Path dir) {
        // makes the rename durable on Linux; some systems cannot open a directory, which is fine
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // the rename itself already happened atomically
        }
    }
}
