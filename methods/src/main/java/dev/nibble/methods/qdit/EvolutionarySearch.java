package dev.nibble.methods.qdit;

import dev.nibble.api.method.ProgressListener;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Q-DiT's evolutionary search of one group size per layer: a population of assignments, the top
 * ones kept as parents, children by crossover (each gene from either parent) and mutation (a gene
 * redrawn), every individual constrained to a mean group size ≥ the budget. The uniform start
 * (every layer at the budget) is in the first population and the elite survive, so the result is
 * never worse than uniform.
 *
 * @param population individuals per generation
 * @param top parents kept per generation
 * @param generations generations after the first
 * @param mutation probability of redrawing each gene of a child
 * @param budget lower bound on the mean group size
 * @param seed random seed
 */
public record EvolutionarySearch(int population, int top, int generations, double mutation, double budget, long seed) {

    /** The best assignment and its fitness, with the uniform start's. */
    public record Result(int[] groupSizes, double fitness, int[] uniform, double uniformFitness) {
    }

    /**
     * @param candidates per layer, the allowed group sizes
     * @param uniform the start assignment (must meet the budget)
     * @param fitness the objective
     * @param progress told after each generation
     * @return the best assignment found
     */
    public Result run(List<int[]> candidates, int[] uniform, GroupSizeFitness fitness, ProgressListener progress) {
        Random rnd = new Random(seed);
        int layers = candidates.size();
        List<int[]> pop = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        pop.add(uniform.clone());
        seen.add(Arrays.toString(uniform));
        int tries = 0;
        while (pop.size() < population && tries++ < population * 200) {
            int[] ind = new int[layers];
            for (int l = 0; l < layers; l++) {
                int[] c = candidates.get(l);
                ind[l] = c[rnd.nextInt(c.length)];
            }
            if (feasible(ind) && seen.add(Arrays.toString(ind))) {
                pop.add(ind);
            }
        }
        double uniformFit = fitness.evaluate(uniform);
        for (int gen = 0; gen <= generations; gen++) {
            List<double[]> scored = new ArrayList<>();
            for (int i = 0; i < pop.size(); i++) {
                scored.add(new double[] {fitness.evaluate(pop.get(i)), i});
            }
            scored.sort(Comparator.comparingDouble(a -> a[0]));
            List<int[]> parents = new ArrayList<>();
            for (int i = 0; i < Math.min(top, scored.size()); i++) {
                parents.add(pop.get((int) scored.get(i)[1]));
            }
            progress.progress(gen + 1, generations + 1, "qdit: generation " + gen + " best " + scored.getFirst()[0]);
            if (gen == generations) {
                int[] best = parents.getFirst();
                return new Result(best.clone(), fitness.evaluate(best), uniform.clone(), uniformFit);
            }
            List<int[]> next = new ArrayList<>(parents);
            Set<String> nextSeen = new HashSet<>();
            parents.forEach(p -> nextSeen.add(Arrays.toString(p)));
            int guard = 0;
            while (next.size() < population && guard++ < population * 200) {
                int[] a = parents.get(rnd.nextInt(parents.size()));
                int[] b = parents.get(rnd.nextInt(parents.size()));
                int[] child = new int[layers];
                for (int l = 0; l < layers; l++) {
                    child[l] = rnd.nextBoolean() ? a[l] : b[l];
                    if (rnd.nextDouble() < mutation) {
                        int[] c = candidates.get(l);
                        child[l] = c[rnd.nextInt(c.length)];
                    }
                }
                if (feasible(child) && nextSeen.add(Arrays.toString(child))) {
                    next.add(child);
                }
            }
            pop = next;
        }
        throw new IllegalStateException("unreachable");
    }

    /**
     * @param groupSizes an assignment
     * @return true if its mean group size meets the budget
     */
    public boolean feasible(int[] groupSizes) {
        return Arrays.stream(groupSizes).average().orElse(Double.MAX_VALUE) >= budget - 1e-9;
    }
}
