package dev.nibble.cli;

import dev.nibble.model.demo.DemoModel;
import java.nio.file.Path;

/** Paths of the bundled demo files. */
final class DemoFiles {
    private DemoFiles() {
    }

    static Path dit() {
        return DemoModel.file(DemoModel.DIT);
    }

    static Path classifier() {
        return DemoModel.file(DemoModel.CLASSIFIER);
    }

    static Path real() {
        return DemoModel.file(DemoModel.REAL);
    }
}
