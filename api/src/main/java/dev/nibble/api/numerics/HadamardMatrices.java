package dev.nibble.api.numerics;

import static org.apiguardian.api.API.Status.STABLE;

import dev.nibble.api.InvalidInputException;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import org.apiguardian.api.API;

/**
 * Hadamard matrices of the non-power-of-two orders QuaRot needs ({@code K = hadK × 2^m}), built
 * here from classical constructions (Paley I and II over finite fields, Kronecker products), never
 * copied from tables. Each matrix H has entries ±1 and {@code H·Hᵀ = n·I}.
 */
@API(status = STABLE, since = "0.1")
public final class HadamardMatrices {
    /** The orders besides powers of two that the global Sylvester/QuaRot rotation supports. */
    public static final int[] SPECIAL_ORDERS = {12, 20, 28, 36, 40, 52, 60, 108, 140, 156, 172};

    private static final ConcurrentHashMap<Integer, int[][]> CACHE = new ConcurrentHashMap<>();

    private HadamardMatrices() {
    }

    /**
     * Splits K into {@code hadK × 2^m} with hadK 1 or a special order (the largest power of two).
     *
     * @param k a row width
     * @return {@code {hadK, 2^m}}
     * @throws InvalidInputException if K has no such form
     */
    public static int[] decompose(int k) {
        if (k <= 0) {
            throw new InvalidInputException("Hadamard order must be positive, got " + k);
        }
        int pow = Integer.lowestOneBit(k);
        int rest = k / pow;
        if (rest == 1) {
            return new int[] {1, pow};
        }
        // hadK itself may contain factors of two (12 = 3·4): take the special order that divides k
        for (int h : SPECIAL_ORDERS) {
            if (k % h == 0 && Integer.bitCount(k / h) == 1) {
                return new int[] {h, k / h};
            }
        }
        throw new InvalidInputException("no Hadamard matrix of order " + k + ": the global rotation needs K = hadK × 2^m with hadK in "
                + Arrays.toString(SPECIAL_ORDERS) + " or 1");
    }

    /**
     * @param order 1, 2 or one of {@link #SPECIAL_ORDERS}
     * @return a ±1 matrix with {@code H·Hᵀ = order·I} (a shared array: do not modify)
     * @throws InvalidInputException if the order is not supported
     */
    public static int[][] matrix(int order) {
        return CACHE.computeIfAbsent(order, HadamardMatrices::build);
    }

    private static int[][] build(int n) {
        int[][] h = switch (n) {
            case 1 -> new int[][] {{1}};
            case 2 -> new int[][] {{1, 1}, {1, -1}};
            case 12, 20, 60, 108, 140 -> paleyOne(n - 1);
            case 28, 36 -> paleyTwo(n / 2 - 1);
            case 40 -> kronecker(matrix(2), matrix(20));
            default -> throw new InvalidInputException("no construction for a Hadamard matrix of order " + n);
        };
        if (!isHadamard(h)) {
            throw new IllegalStateException("construction of order " + n + " is not Hadamard");
        }
        return h;
    }

    /**
     * @param h a square ±1 matrix
     * @return true if {@code H·Hᵀ = n·I}
     */
    public static boolean isHadamard(int[][] h) {
        int n = h.length;
        for (int i = 0; i < n; i++) {
            if (h[i].length != n) {
                return false;
            }
            for (int j = 0; j < n; j++) {
                long dot = 0;
                for (int t = 0; t < n; t++) {
                    if (Math.abs(h[i][t]) != 1) {
                        return false;
                    }
                    dot += (long) h[i][t] * h[j][t];
                }
                if (dot != (i == j ? n : 0)) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Quadratic character over the prime field GF(q). */
    private static int chi(int a, int q) {
        a = Math.floorMod(a, q);
        if (a == 0) {
            return 0;
        }
        // Euler's criterion
        long r = 1;
        long b = a;
        int e = (q - 1) / 2;
        while (e > 0) {
            if ((e & 1) == 1) {
                r = r * b % q;
            }
            b = b * b % q;
            e >>= 1;
        }
        return r == 1 ? 1 : -1;
    }

    /** Paley I: q prime, q ≡ 3 (mod 4); order q + 1. H = I + S with S skew: [[0, 1ᵀ], [-1, Q]]. */
    private static int[][] paleyOne(int q) {
        requirePrime(q, 3);
        int n = q + 1;
        int[][] h = new int[n][n];
        for (int j = 1; j < n; j++) {
            h[0][j] = 1;
            h[j][0] = -1;
        }
        for (int i = 0; i < q; i++) {
            for (int j = 0; j < q; j++) {
                h[i + 1][j + 1] = chi(j - i, q);
            }
        }
        for (int i = 0; i < n; i++) {
            h[i][i] += 1;
        }
        return h;
    }

    /**
     * Paley II: q prime, q ≡ 1 (mod 4); order 2(q + 1). C = [[0, 1ᵀ], [1, Q]] symmetric conference
     * matrix; each 0 becomes [[1, -1], [-1, -1]] and each ±1 becomes ±[[1, 1], [1, -1]].
     */
    private static int[][] paleyTwo(int q) {
        requirePrime(q, 1);
        int m = q + 1;
        int[][] c = new int[m][m];
        for (int j = 1; j < m; j++) {
            c[0][j] = 1;
            c[j][0] = 1;
        }
        for (int i = 0; i < q; i++) {
            for (int j = 0; j < q; j++) {
                c[i + 1][j + 1] = chi(j - i, q);
            }
        }
        int[][] h = new int[2 * m][2 * m];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < m; j++) {
                int[][] blk = c[i][j] == 0 ? new int[][] {{1, -1}, {-1, -1}}
                        : new int[][] {{c[i][j], c[i][j]}, {c[i][j], -c[i][j]}};
                for (int a = 0; a < 2; a++) {
                    for (int b = 0; b < 2; b++) {
                        h[2 * i + a][2 * j + b] = blk[a][b];
                    }
                }
            }
        }
        return h;
    }

    private static void requirePrime(int q, int mod4) {
        for (int d = 2; (long) d * d <= q; d++) {
            if (q % d == 0) {
                throw new IllegalStateException(q + " is not prime");
            }
        }
        if (q % 4 != mod4) {
            throw new IllegalStateException(q + " is not " + mod4 + " mod 4");
        }
    }

    /**
     * @param a a ±1 matrix
     * @param b a ±1 matrix
     * @return {@code a ⊗ b}
     */
    public static int[][] kronecker(int[][] a, int[][] b) {
        int n = a.length * b.length;
        int[][] h = new int[n][n];
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a.length; j++) {
                for (int k = 0; k < b.length; k++) {
                    for (int l = 0; l < b.length; l++) {
                        h[i * b.length + k][j * b.length + l] = a[i][j] * b[k][l];
                    }
                }
            }
        }
        return h;
    }
}
