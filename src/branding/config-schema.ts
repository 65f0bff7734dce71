import { z } from 'zod';

/**
 * `branding:` — the institution's own look on every patron and admin page. People are taught to
 * check the name before they type a password, so the login page shows it. Colours are checked
 * for WCAG AA contrast here, at start-up, not left to whoever edits the file.
 */

const hex = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour written #rrggbb');

function luminance(colour: string): number {
  const [r, g, b] = [1, 3, 5].map((index) => {
    const channel = parseInt(colour.slice(index, index + 2), 16) / 255;
    return channel <= 0.03928 ? channel / 12.92 : ((channel + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function contrastRatio(a: string, b: string): number {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

const LIGHT_BACKGROUND = '#ffffff';
const DARK_BACKGROUND = '#15171a';

export const brandingSchema = z
  .object({
    /** shown in the header of every page and on the login page ("Log in to … with <institution>") */
    institution: z.string().trim().min(1).max(100),
    /** a PNG, JPEG or SVG file, served at /branding/logo */
    logoFile: z.string().min(1).regex(/\.(png|jpe?g|svg)$/i, 'must be a .png, .jpg or .svg file').optional(),
    colors: z
      .object({
        /** links and the header rule on a light background */
        accent: hex.default('#0b57d0'),
        /** the same in dark mode */
        accentDark: hex.default('#9cc0ff'),
      })
      .strict()
      .prefault({}),
    support: z
      .object({
        text: z.string().trim().min(1).max(200).optional(),
        email: z.email().max(254).optional(),
        url: z.url({ protocol: /^https?$/ }).max(500).optional(),
      })
      .strict()
      .optional(),
    footer: z.string().trim().min(1).max(500).optional(),
    /** a directory whose views (same names as views/) and theme.css override the shipped ones */
    themeDir: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((branding, ctx) => {
    if (contrastRatio(branding.colors.accent, LIGHT_BACKGROUND) < 4.5) {
      ctx.addIssue({ code: 'custom', path: ['colors', 'accent'], message: `needs a contrast of at least 4.5:1 on white (WCAG AA); ${branding.colors.accent} has ${contrastRatio(branding.colors.accent, LIGHT_BACKGROUND).toFixed(2)}:1` });
    }
    if (contrastRatio(branding.colors.accentDark, DARK_BACKGROUND) < 4.5) {
      ctx.addIssue({ code: 'custom', path: ['colors', 'accentDark'], message: `needs a contrast of at least 4.5:1 on the dark background ${DARK_BACKGROUND} (WCAG AA)` });
    }
  });

export type BrandingConfig = z.infer<typeof brandingSchema>;
