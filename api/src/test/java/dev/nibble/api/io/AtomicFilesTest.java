package dev.nibble.api.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nibble.api.OutputWriteException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
    @TempDir
    Path dir;

    @Test
    void aNewFileIsReadableByOthersAsUsual() throws IOException {
        Path f = AtomicFiles.writeString(dir.resolve("new.txt"), "hello");
        assertThat(Files.readString(f)).isEqualTo("hello");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).isEqualTo("rw-r--r--");
    }

    @Test
    void aReplacedFileKeepsItsPermissions() throws IOException {
        Path f = dir.resolve("old.txt");
        Files.writeString(f, "old");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-rw----"));
        AtomicFiles.writeString(f, "new");
        assertThat(Files.readString(f)).isEqualTo("new");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).isEqualTo("rw-rw----");
    }

    @Test
    void aFailingWriterLeavesTheTargetAndNoTemporaryFile() throws IOException {
        Path f = dir.resolve("kept.txt");
        Files.writeString(f, "previous");
        assertThatThrownBy(() -> AtomicFiles.write(f, out -> {
            out.write(java.nio.ByteBuffer.wrap(new byte[] {1, 2, 3}));
            throw new IOException("disk on fire");
        })).isInstanceOf(OutputWriteException.class).hasMessageContaining("kept.txt");
        assertThat(Files.readString(f)).isEqualTo("previous");
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactly(f);
        }
    }
}
