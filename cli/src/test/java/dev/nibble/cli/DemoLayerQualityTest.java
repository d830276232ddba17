package dev.nibble.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nibble.api.DType;
import dev.nibble.model.dit.RandomDit;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoLayerQualityTest {
    @TempDir
    Path dir;

    private static final Pattern ROW = Pattern.compile(
            "^\\| (\\w+) \\| (W\\dA\\d+) \\| (\\d+) \\| (\\S+) \\| (\\S+) \\| (\\S+) \\| (\\S+) \\((\\S+)\\) \\|$", Pattern.MULTILINE);

    @Test
    void writesSectionFourWithARowPerMethodAndPrecisionAndKeepsTheRest() throws Exception {
        Path model = RandomDit.write(dir.resolve("m.safetensors"), ModelCommandsTest.SMALL, 5, DType.F32);
        Path doc = dir.resolve("quality.md");
        Files.writeString(doc, "# Quality\n\n## 1. Rotations\n\nkept text\n");
        String[] args = {"quality", "--demo-layers", "-q", "--model", model.toString(), "--methods", "rtn,nf4",
            "--steps", "2", "--samples", "2", "--rows", "8", "--out", doc.toString()};
        ModelCommandsTest.Run r = ModelCommandsTest.nibble(args);
        assertThat(r.status()).as(r.err()).isZero();
        // a second run replaces the section instead of appending another
        r = ModelCommandsTest.nibble(args);
        assertThat(r.status()).as(r.err()).isZero();

        String text = Files.readString(doc);
        assertThat(text).startsWith("# Quality\n\n## 1. Rotations\n\nkept text\n\n" + QualityCommand.DEMO_HEADING)
                .contains("nibble quality --demo-layers");
        assertThat(text.split(Pattern.quote(QualityCommand.DEMO_HEADING), -1)).hasSize(2);

        Matcher m = ROW.matcher(text);
        List<String> keys = new java.util.ArrayList<>();
        double rtnW4a4 = 0;
        double rtnW8a8 = 0;
        while (m.find()) {
            keys.add(m.group(1) + "/" + m.group(2));
            assertThat(Integer.parseInt(m.group(3))).isPositive();
            for (int g : new int[] {4, 5, 6, 8}) {
                assertThat(Double.parseDouble(m.group(g))).as(m.group()).isFinite();
            }
            assertThat(m.group(7)).startsWith("blocks.");
            if (m.group(1).equals("rtn") && m.group(2).equals("W4A4")) {
                rtnW4a4 = Double.parseDouble(m.group(6));
            }
            if (m.group(1).equals("rtn") && m.group(2).equals("W8A8")) {
                rtnW8a8 = Double.parseDouble(m.group(6));
            }
        }
        assertThat(keys).containsExactly("rtn/W4A4", "rtn/W4A8", "rtn/W8A8", "nf4/W4A16");
        // 8-bit must be far closer to full precision than 4-bit on the same layers
        assertThat(rtnW8a8).isGreaterThan(rtnW4a4 + 10);
    }

    @Test
    void rewritingTheSectionKeepsTheSectionsAfterIt() throws Exception {
        Path doc = dir.resolve("q.md");
        Files.writeString(doc, "# Q\n\n" + QualityCommand.DEMO_HEADING + "\n\nold table\n\n## 5. After\n\nalso kept\n");
        QualityCommand.writeSection(doc, QualityCommand.DEMO_HEADING + "\n\nnew table\n");
        assertThat(Files.readString(doc)).isEqualTo("# Q\n\n" + QualityCommand.DEMO_HEADING + "\n\nnew table\n\n## 5. After\n\nalso kept\n");
    }
}
