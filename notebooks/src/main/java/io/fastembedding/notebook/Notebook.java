package io.fastembedding.notebook;

/** What notebook cells call on their kernel. */
public final class Notebook {
  private Notebook() {}

  /**
   * Shows {@code o} as a cell output: a {@code java.awt.image.RenderedImage} (such as an XChart
   * chart's {@code BitmapEncoder.getBufferedImage}) as a PNG picture, anything else as text.
   */
  public static void display(Object o) {
    JShellKernel k = JShellKernel.current();
    k.display(k.getRenderer().render(o));
  }
}
