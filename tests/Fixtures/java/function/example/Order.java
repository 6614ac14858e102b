package example;

import java.util.List;

public class Order {
    private String orderId;
    private int quantity;
    private List<String> items;

    public String getOrderId() { return orderId; }
    public void setOrderId(String orderId) { this.orderId = orderId; }
    public int getQuantity() { return quantity; }
    public void setQuantity(int quantity) { this.quantity = quantity; }
    public List<String> getItems() { return items; }
    public void setItems(List<String> items) { this.items = items; }
}
