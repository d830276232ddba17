package dev.nibble.methods.qdit;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.Granularity;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.Precision;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.method.Calibration;
import dev.nibble.api.method.LinearLayer;
import dev.nibble.api.method.MethodOptions;
import dev.nibble.api.method.OptionSpec;
import dev.nibble.api.method.ProgressListener;
import dev.nibble.methods.core.CalibrationRows;
import dev.nibble.methods.core.MethodBase;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.BiFunction;

/**
 * Q-DiT (Chen et al., CVPR 2025, arXiv 2406.17343): asymmetric group quantization of weights and
 * dynamic per-(token, group) asymmetric activations, with one group size per layer found by an
 * evolutionary search under a mean-group-size budget. The fitness is pluggable
 * ({@link GroupSizeFitness}); by default it is the summed relative output error of the layers on
 * their calibration rows.
 */
public final class QDitMethod extends MethodBase {
    static final String CANDIDATES = "group-candidates";
    static final String BUDGET = "budget";
    static final String GROUP = "group-size";
    static final String POPULATION = "population";
    static final String TOP = "top";
    static final String GENERATIONS = "generations";
    static final String MUTATION = "mutation";
    static final String SEED = "seed";
    static final String FITNESS = "fitness";
    static final String CALIB_ROWS = "calib-rows";

    private final BiFunction<List<LinearLayer>, Calibration, GroupSizeFitness> customFitness;

    /** The method with the default fitness (option {@code fitness}). */
    public QDitMethod() {
        this(null);
    }

    /**
     * @param customFitness builds the fitness for the layers in scope and the calibration (null: the default)
     */
    public QDitMethod(BiFunction<List<LinearLayer>, Calibration, GroupSizeFitness> customFitness) {
        this.customFitness = customFitness;
    }

    @Override
    public String id() {
        return "qdit";
    }

    @Override
    public String description() {
        return "Q-DiT (CVPR 2025): asymmetric group weights, dynamic per-(token, group) activations, "
                + "evolutionary search of the group size per layer";
    }

    @Override
    public Set<Precision> precisions() {
        return EnumSet.allOf(Precision.class);
    }

    @Override
    public Set<Requirement> requirements(MethodOptions options) {
        return choiceOption(options, FITNESS, "output-error", "weight-error").equals("output-error")
                ? Set.of(Requirement.CALIBRATION_ACTIVATIONS) : Set.of();
    }

    @Override
    protected List<OptionSpec> methodOptions() {
        return List.of(
                new OptionSpec(CANDIDATES, "32,64,128,256", "group sizes the search may give a layer (those dividing K)"),
                new OptionSpec(BUDGET, "128", "lower bound on the mean group size over the layers in scope"),
                new OptionSpec(GROUP, "128", "group size of a layer quantized alone (quantize) or when the search is off"),
                new OptionSpec(POPULATION, "50", "individuals per generation"),
                new OptionSpec(TOP, "10", "parents kept per generation"),
                new OptionSpec(GENERATIONS, "20", "generations of the search (0: uniform group size)"),
                new OptionSpec(MUTATION, "0.1", "probability of redrawing each gene of a child"),
                new OptionSpec(SEED, "0", "random seed of the search"),
                new OptionSpec(FITNESS, "output-error", "'output-error' (calibration output error) or 'weight-error'"),
                new OptionSpec(CALIB_ROWS, "256", "calibration rows per layer used by the fitness"));
    }

    @Override
    protected String defaultScope() {
        return "blocks";
    }

    @Override
    protected void checkOptions(MethodOptions options) {
        candidates(options);
        doubleOption(options, BUDGET, 1, 1 << 20);
        intOption(options, GROUP, 1, 1 << 20);
        int pop = intOption(options, POPULATION, 2, 100_000);
        int top = intOption(options, TOP, 1, 100_000);
        if (top > pop) {
            throw new InvalidInputException("method 'qdit': option '" + TOP + "' (" + top + ") exceeds '" + POPULATION
                    + "' (" + pop + ")");
        }
        intOption(options, GENERATIONS, 0, 100_000);
        doubleOption(options, MUTATION, 0, 1);
        intOption(options, SEED, Integer.MIN_VALUE, Integer.MAX_VALUE);
        choiceOption(options, FITNESS, "output-error", "weight-error");
        intOption(options, CALIB_ROWS, 1, Integer.MAX_VALUE);
    }

    private int[] candidates(MethodOptions options) {
        String v = options.getString(CANDIDATES, defaultOf(CANDIDATES));
        try {
            int[] c = Arrays.stream(v.split(",")).map(String::trim).mapToInt(Integer::parseInt).sorted().distinct().toArray();
            if (c.length == 0 || c[0] < 1) {
                throw new NumberFormatException();
            }
            return c;
        } catch (NumberFormatException e) {
            throw new InvalidInputException("method 'qdit': option '" + CANDIDATES
                    + "' must be a comma list of positive integers, got '" + v + "'");
        }
    }

    /**
     * @param k a layer's K
     * @param g a requested group size
     * @return g if it divides K, else the largest divisor of K below g
     */
    static int fitGroup(int k, int g) {
        for (int d = Math.min(g, k); d > 1; d--) {
            if (k % d == 0) {
                return d;
            }
        }
        return 1;
    }

    /**
     * @param layer the layer
     * @param options configuration (precision)
     * @param group group size (divides K)
     * @return the plan
     */
    QuantizedLinear plan(LinearLayer layer, MethodOptions options, int group) {
        Precision p = options.precision();
        QuantScheme ws = QuantScheme.affine(p.weightBits(), Granularity.PER_GROUP, group).asStatic();
        ActivationQuant act = p.quantizesActivations()
                ? new ActivationQuant.Dynamic(QuantScheme.affine(p.activationBits(), Granularity.PER_GROUP, group))
                : new ActivationQuant.None();
        return planFor(layer, options)
                .weight(quantizeWeight(layer.weight().toFloatArray(), layer.outFeatures(), layer.inFeatures(), ws))
                .activation(act)
                .meta("qdit.group-size", Integer.toString(group))
                .build();
    }

    @Override
    public QuantizedLinear quantize(LinearLayer layer, Calibration calibration, MethodOptions options) {
        check(options);
        return plan(layer, options, fitGroup(layer.inFeatures(), intOption(options, GROUP, 1, 1 << 20)));
    }

    /**
     * Runs the search over the layers in scope.
     *
     * @param inScope the layers
     * @param calibration calibration data
     * @param options configuration
     * @param progress told after each generation
     * @return the search result
     */
    public EvolutionarySearch.Result search(List<LinearLayer> inScope, Calibration calibration, MethodOptions options,
            ProgressListener progress) {
        check(options);
        int[] cands = candidates(options);
        double budget = doubleOption(options, BUDGET, 1, 1 << 20);
        List<int[]> perLayer = new ArrayList<>();
        int[] uniform = new int[inScope.size()];
        for (int i = 0; i < inScope.size(); i++) {
            int k = inScope.get(i).inFeatures();
            int[] c = Arrays.stream(cands).filter(g -> k % g == 0).toArray();
            if (c.length == 0) {
                c = new int[] {fitGroup(k, (int) Math.ceil(budget))};
            }
            perLayer.add(c);
            // the uniform start: the smallest allowed size meeting the budget (else the largest)
            int u = c[c.length - 1];
            for (int g : c) {
                if (g >= budget) {
                    u = g;
                    break;
                }
            }
            uniform[i] = u;
        }
        GroupSizeFitness fitness;
        if (customFitness != null) {
            fitness = customFitness.apply(inScope, calibration);
        } else {
            boolean output = choiceOption(options, FITNESS, "output-error", "weight-error").equals("output-error");
            int rows = intOption(options, CALIB_ROWS, 1, Integer.MAX_VALUE);
            List<CalibrationRows.Rows> data = new ArrayList<>();
            for (LinearLayer l : inScope) {
                data.add(!output ? null : CalibrationRows.all(CalibrationRows.require(l, calibration, id()), rows));
            }
            fitness = new LayerErrorFitness(inScope, data, (i, g) -> plan(inScope.get(i), options, g));
        }
        EvolutionarySearch es = new EvolutionarySearch(intOption(options, POPULATION, 2, 100_000),
                intOption(options, TOP, 1, 100_000), intOption(options, GENERATIONS, 0, 100_000),
                doubleOption(options, MUTATION, 0, 1), budget, intOption(options, SEED, Integer.MIN_VALUE, Integer.MAX_VALUE));
        return es.run(perLayer, uniform, fitness, progress);
    }

    @Override
    public List<QuantizedLinear> quantizeAll(List<LinearLayer> layers, Calibration calibration, MethodOptions options,
            ProgressListener progress) {
        check(options);
        List<LinearLayer> inScope = layers.stream().filter(l -> quantizes(l, options)).toList();
        EvolutionarySearch.Result r = search(inScope, calibration, options, progress);
        List<QuantizedLinear> out = new ArrayList<>();
        for (int i = 0; i < inScope.size(); i++) {
            out.add(plan(inScope.get(i), options, r.groupSizes()[i]).toBuilder()
                    .meta("qdit.search-fitness", String.format(Locale.ROOT, "%.6g", r.fitness()))
                    .meta("qdit.uniform-fitness", String.format(Locale.ROOT, "%.6g", r.uniformFitness()))
                    .build());
        }
        return out;
    }
}
