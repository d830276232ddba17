package dev.nibble.methods.quality;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class KeepLaterSectionsTest {
    @Test
    void regeneratingSectionsOneAndTwoKeepsTheSectionsOtherCommandsWrote() {
        String existing = "# Quality\n## 1. old\nold table\n## 2. old\n\n## 3. End to end\ndemo table\n## 4. Layers\nlayer table\n";
        String fresh = "# Quality\n## 1. new\nnew table\n## 2. new\n\n";
        assertThat(QualityReport.keepLaterSections(fresh, existing))
                .isEqualTo("# Quality\n## 1. new\nnew table\n## 2. new\n\n## 3. End to end\ndemo table\n## 4. Layers\nlayer table\n");
        assertThat(QualityReport.keepLaterSections(fresh, "# Quality\n## 1. only\n")).isEqualTo(fresh);
    }
}
