package example;

public class Receipt {
    private final String orderId;
    private final int total;
    private final int itemCount;
    private final boolean paid;

    public Receipt(String orderId, int total, int itemCount) {
        this.orderId = orderId;
        this.total = total;
        this.itemCount = itemCount;
        this.paid = true;
    }

    public String getOrderId() { return orderId; }
    public int getTotal() { return total; }
    public int getItemCount() { return itemCount; }
    public boolean isPaid() { return paid; }
}
